/**
 * @module common/glob
 * Exclusion globs over '/'-separated relative paths, shared by working_dir packages (dashboard)
 * and the launcher's rsync_exclude handling when it hashes file mounts.
 */

/**
 * A glob as a RegExp over '/'-separated relative paths: `**` crosses directories, `*` and `?`
 * do not. A pattern without '/' matches a name at any depth (like .gitignore); a leading '/'
 * anchors it at the root; a match also excludes everything below it.
 */
export function globToRegExp(glob: string): RegExp {
  let g = glob.trim().replace(/\\/g, "/").replace(/\/+$/, "");
  const anchored = g.startsWith("/") || g.includes("/");
  g = g.replace(/^\/+/, "");
  let re = "";
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!;
    if (c === "*" && g[i + 1] === "*") {
      if (g[i + 2] === "/") { re += "(?:.*/)?"; i += 2; } else { re += ".*"; i += 1; }
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${anchored ? "" : "(?:.*/)?"}${re}(?:/.*)?$`);
}

