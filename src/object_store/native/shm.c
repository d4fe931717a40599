// Zero-copy reads of object-store files: map a file into memory and hand it to JavaScript as an
// ArrayBuffer backed by the mapping. The finalizer unmaps it when the ArrayBuffer is collected.
// Objects are immutable, but JavaScript has no read-only typed arrays, so mapFile maps them
// copy-on-write (MAP_PRIVATE, readable and writable): reads share the object's pages with every
// other process, and a user who writes into a value they got gets private copies of just the
// pages written -- never a crash, and never a change other readers could see.
// mapFileWritable (MAP_SHARED) is for the creator filling a new object.
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

// mapFileWritable(path, size): ArrayBuffer — create/truncate the file and map it read-write.
static napi_value map_file_writable(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[4096];
  if (argc < 2 || !get_path(env, argv[0], path, sizeof path)) return NULL;
  double dsize = 0;
  // !(x >= 0) also rejects NaN; 2^53 bounds it to what a double holds exactly (and fits off_t).
  if (napi_get_value_double(env, argv[1], &dsize) != napi_ok || !(dsize >= 0) || dsize > 9007199254740992.0 ||
      dsize != (double)(long long)dsize) {
    napi_throw_type_error(env, NULL, "size must be a non-negative integer");
    return NULL;
  }
  size_t len = (size_t)dsize;
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return throw_errno(env, "cannot create", path);
  if (ftruncate(fd, (off_t)len) != 0) { close(fd); return throw_errno(env, "cannot size", path); }
  void* addr = NULL;
  if (len > 0) {
    addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED) { close(fd); return throw_errno(env, "cannot map", path); }
  }
  close(fd);
  return wrap(env, addr, len, path);
}

NAPI_MODULE_INIT() {
  napi_value f1, f2;
  napi_create_function(env, "mapFile", NAPI_AUTO_LENGTH, map_file, NULL, &f1);
  napi_create_function(env, "mapFileWritable", NAPI_AUTO_LENGTH, map_file_writable, NULL, &f2);
  napi_set_named_property(env, exports, "mapFile", f1);
  napi_set_named_property(env, exports, "mapFileWritable", f2);
  return exports;
}
