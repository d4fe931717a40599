/**
 * @module gcs/storage
 * Where the GCS keeps its tables. One small interface (`GcsStorage`) with an in-memory
 * implementation (the default: fastest, lost with the head) and a `node:sqlite` one that
 * persists the tables in `<session>/gcs.sqlite` so a restarted GCS finds its KV store, jobs and
 * detached actors again. A Redis backend will implement the same interface.
 */
import { DatabaseSync } from "node:sqlite";
import { Packr } from "msgpackr";

export type Table = "nodes" | "actors" | "jobs" | "kv";

export interface GcsStorage {
  get(table: Table, key: string): unknown;
  put(table: Table, key: string, value: unknown): void;
  delete(table: Table, key: string): boolean;
  list(table: Table): Array<[string, unknown]>;
  close(): void;
}

export class MemoryStorage implements GcsStorage {
  private tables = new Map<Table, Map<string, unknown>>();
  private t(table: Table): Map<string, unknown> {
    let m = this.tables.get(table);
    if (!m) this.tables.set(table, (m = new Map()));
    return m;
  }
  get(table: Table, key: string): unknown { return this.t(table).get(key); }
  put(table: Table, key: string, value: unknown): void { this.t(table).set(key, value); }
  delete(table: Table, key: string): boolean { return this.t(table).delete(key); }
  list(table: Table): Array<[string, unknown]> { return [...this.t(table)]; }
  close(): void {}
}

const codec = new Packr({ useRecords: false, moreTypes: true });

/** Write-through to SQLite; reads are served from memory. */
export class SqliteStorage implements GcsStorage {
  private mem = new MemoryStorage();
  private db: DatabaseSync;
  private putStmt;
  private delStmt;
  constructor(path: string) {
    this.db = new DatabaseSync(path);
    this.db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;" +
      "CREATE TABLE IF NOT EXISTS t (tbl TEXT NOT NULL, k TEXT NOT NULL, v BLOB NOT NULL, PRIMARY KEY (tbl, k))");
    this.putStmt = this.db.prepare("INSERT OR REPLACE INTO t (tbl, k, v) VALUES (?, ?, ?)");
    this.delStmt = this.db.prepare("DELETE FROM t WHERE tbl = ? AND k = ?");
    for (const row of this.db.prepare("SELECT tbl, k, v FROM t").all()) {
      this.mem.put(row.tbl as Table, String(row.k), codec.unpack(row.v as Uint8Array));
    }
  }
  get(table: Table, key: string): unknown { return this.mem.get(table, key); }
  put(table: Table, key: string, value: unknown): void {
    this.mem.put(table, key, value);
    this.putStmt.run(table, key, codec.pack(value));
  }
  delete(table: Table, key: string): boolean {
    this.delStmt.run(table, key);
    return this.mem.delete(table, key);
  }
  list(table: Table): Array<[string, unknown]> { return this.mem.list(table); }
  close(): void { this.db.close(); }
}
