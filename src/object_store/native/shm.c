// Zero-copy reads of object-store files: map a file into memory and hand it to JavaScript as an
// ArrayBuffer backed by the mapping. The finalizer unmaps it when the ArrayBuffer is collected.
// Objects are immutable, but JavaScript has no read-only typed arrays, so mapFile maps them
// copy-on-write (MAP_PRIVATE, readable and writable): reads share the object's pages with every
// other process, and a user who writes into a value they got gets private copies of just the
// pages written -- never a crash, and never a change other readers could see.
// mapFileWritable (MAP_SHARED) is for the creator filling a new object.
// writeFile fills a new object in one call: allocate the file's pages in bulk (fallocate), map it
// with MAP_POPULATE (page tables filled in one pass instead of one fault per 4 KB page), copy the
// parts in, unmap. On a recycled file whose pages already exist this runs at memcpy speed.
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct { void* addr; size_t len; } mapping_t;

static void unmap(napi_env env, void* data, void* hint) {
  (void)env; (void)data;
  mapping_t* m = (mapping_t*)hint;
  if (m->addr && m->len) munmap(m->addr, m->len);
  free(m);
}

static napi_value throw_errno(napi_env env, const char* what, const char* path) {
  char msg[4200];
  snprintf(msg, sizeof msg, "%s %s: %s", what, path, strerror(errno));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static int get_path(napi_env env, napi_value v, char* buf, size_t cap) {
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, buf, cap, &n) != napi_ok || n >= cap - 1) {
    napi_throw_type_error(env, NULL, "path must be a string shorter than 4096 bytes");
    return 0;
  }
  return 1;
}

static napi_value wrap(napi_env env, void* addr, size_t len, const char* path) {
  napi_value ab;
  if (len == 0) {
    void* data;
    napi_create_arraybuffer(env, 0, &data, &ab);
    return ab;
  }
  mapping_t* m = (mapping_t*)malloc(sizeof(mapping_t));
  if (m == NULL) {
    munmap(addr, len);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  m->addr = addr;
  m->len = len;
  napi_status st = napi_create_external_arraybuffer(env, addr, len, unmap, m, &ab);
  if (st != napi_ok) {
    munmap(addr, len);
    free(m);
    char msg[4200];
    snprintf(msg, sizeof msg, "cannot expose the mapping of %s as an ArrayBuffer (napi status %d; external buffers disabled?)", path, (int)st);
    napi_throw_error(env, NULL, msg);
    return NULL;
  }
  return ab;
}

// mapFile(path): ArrayBuffer — copy-on-write mapping of the whole file (see the top of the file).
static napi_value map_file(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[4096];
  if (argc < 1 || !get_path(env, argv[0], path, sizeof path)) return NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, "cannot open", path);
  struct stat st;
  if (fstat(fd, &st) != 0) { close(fd); return throw_errno(env, "cannot stat", path); }
  size_t len = (size_t)st.st_size;
  void* addr = NULL;
  if (len > 0) {
    addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) { close(fd); return throw_errno(env, "cannot map", path); }
  }
  close(fd);
  return wrap(env, addr, len, path);
}

// A non-negative integer size; !(x >= 0) also rejects NaN, and 2^53 bounds it to what a double
// holds exactly (and fits off_t).
static int get_size(napi_env env, napi_value v, size_t* out) {
  double d = 0;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d > 9007199254740992.0 || d != (double)(long long)d) {
    napi_throw_type_error(env, NULL, "size must be a non-negative integer");
    return 0;
  }
  *out = (size_t)d;
  return 1;
}

// Open (creating) `path`, size it to `len` and allocate its pages, so a full store directory is
// an error here rather than a SIGBUS when the mapping is written. Returns the fd, or -1 (thrown).
static int open_sized(napi_env env, const char* path, size_t len) {
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) { throw_errno(env, "cannot create", path); return -1; }
  struct stat st;
  if (fstat(fd, &st) != 0) { close(fd); throw_errno(env, "cannot stat", path); return -1; }
  if ((size_t)st.st_size != len && ftruncate(fd, (off_t)len) != 0) { close(fd); throw_errno(env, "cannot size", path); return -1; }
  // Allocating all pages in one call is also faster than faulting them in one by one; a file
  // system without fallocate still works, just slower.
  if (len > 0 && fallocate(fd, 0, 0, (off_t)len) != 0 && errno == ENOSPC) {
    close(fd);
    throw_errno(env, "no space in the object store directory for", path);
    return -1;
  }
  return fd;
}

// mapFileWritable(path, size, populate?): ArrayBuffer — create/size the file and map it
// read-write (MAP_SHARED); `populate` pre-faults the whole mapping in one pass.
static napi_value map_file_writable(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3] = {NULL, NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[4096];
  size_t len = 0;
  if (argc < 2 || !get_path(env, argv[0], path, sizeof path) || !get_size(env, argv[1], &len)) return NULL;
  bool populate = false;
  if (argc >= 3 && argv[2] != NULL) napi_get_value_bool(env, argv[2], &populate);
  int fd = open_sized(env, path, len);
  if (fd < 0) return NULL;
  void* addr = NULL;
  if (len > 0) {
    addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | (populate ? MAP_POPULATE : 0), fd, 0);
    if (addr == MAP_FAILED) { close(fd); return throw_errno(env, "cannot map", path); }
  }
  close(fd);
  return wrap(env, addr, len, path);
}

typedef struct { size_t off; void* data; size_t bytes; } part_t;

// Read part i ([offset, TypedArray | DataView]) of `parts`; throws and returns 0 when malformed
// or when it does not fit in `len` bytes.
static int get_part(napi_env env, napi_value parts, uint32_t i, size_t len, part_t* p) {
  napi_value part, voff, vdata, ab;
  double off = 0;
  bool isView = false, isDv = false;
  size_t bo = 0;
  if (napi_get_element(env, parts, i, &part) != napi_ok || napi_get_element(env, part, 0, &voff) != napi_ok ||
      napi_get_element(env, part, 1, &vdata) != napi_ok || napi_get_value_double(env, voff, &off) != napi_ok ||
      napi_is_typedarray(env, vdata, &isView) != napi_ok || napi_is_dataview(env, vdata, &isDv) != napi_ok) {
    napi_throw_type_error(env, NULL, "parts must be an array of [offset, ArrayBufferView]");
    return 0;
  }
  if (isView) {
    napi_typedarray_type t;
    size_t n;
    napi_get_typedarray_info(env, vdata, &t, &n, &p->data, &ab, &bo);
    napi_value bl;
    double dbl = 0;
    napi_get_named_property(env, vdata, "byteLength", &bl);
    napi_get_value_double(env, bl, &dbl);
    p->bytes = (size_t)dbl;
  } else if (isDv) {
    napi_get_dataview_info(env, vdata, &p->bytes, &p->data, &ab, &bo);
  } else {
    napi_throw_type_error(env, NULL, "each part's data must be a TypedArray or DataView");
    return 0;
  }
  if (!(off >= 0) || off + (double)p->bytes > (double)len) {
    napi_throw_range_error(env, NULL, "a part does not fit inside the file");
    return 0;
  }
  p->off = (size_t)off;
  return 1;
}

// writeFile(path, size, parts: Array<[offset: number, data: ArrayBufferView]>): undefined
static napi_value write_file(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[4096];
  size_t len = 0;
  if (argc < 3 || !get_path(env, argv[0], path, sizeof path) || !get_size(env, argv[1], &len)) return NULL;
  uint32_t nparts = 0;
  if (napi_get_array_length(env, argv[2], &nparts) != napi_ok) {
    napi_throw_type_error(env, NULL, "parts must be an array of [offset, ArrayBufferView]");
    return NULL;
  }
  // Every part is checked before the file is touched.
  part_t* parts = (part_t*)calloc(nparts ? nparts : 1, sizeof(part_t));
  if (parts == NULL) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  for (uint32_t i = 0; i < nparts; i++) {
    if (!get_part(env, argv[2], i, len, &parts[i])) { free(parts); return NULL; }
  }
  int fd = open_sized(env, path, len);
  if (fd < 0 || len == 0) { if (fd >= 0) close(fd); free(parts); return NULL; }
  void* addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  close(fd);
  if (addr == MAP_FAILED) { free(parts); return throw_errno(env, "cannot map", path); }
  for (uint32_t i = 0; i < nparts; i++) {
    if (parts[i].bytes) memcpy((char*)addr + parts[i].off, parts[i].data, parts[i].bytes);
  }
  free(parts);
  munmap(addr, len);
  return NULL;
}

// unmap(arrayBuffer): detach an ArrayBuffer this module made, so its mapping is released now
// instead of whenever the garbage collector gets to it.
static napi_value unmap_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  bool isAb = false, detached = true;
  if (argc < 1 || napi_is_arraybuffer(env, argv[0], &isAb) != napi_ok || !isAb ||
      napi_is_detached_arraybuffer(env, argv[0], &detached) != napi_ok || detached) {
    napi_throw_type_error(env, NULL, "unmap needs a mapped ArrayBuffer that is not detached yet");
    return NULL;
  }
  napi_detach_arraybuffer(env, argv[0]);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value f1, f2, f3, f4;
  napi_create_function(env, "mapFile", NAPI_AUTO_LENGTH, map_file, NULL, &f1);
  napi_create_function(env, "mapFileWritable", NAPI_AUTO_LENGTH, map_file_writable, NULL, &f2);
  napi_set_named_property(env, exports, "mapFile", f1);
  napi_set_named_property(env, exports, "mapFileWritable", f2);
  napi_create_function(env, "writeFile", NAPI_AUTO_LENGTH, write_file, NULL, &f3);
  napi_set_named_property(env, exports, "writeFile", f3);
  napi_create_function(env, "unmap", NAPI_AUTO_LENGTH, unmap_buffer, NULL, &f4);
  napi_set_named_property(env, exports, "unmap", f4);
  return exports;
}
