/**
 * @module gcs/pubsub
 * Publish/subscribe of cluster state: subscribers name a channel and optionally a key (an actor
 * id, a job id); messages go out as `gcs.Published` notifications on the subscriber's connection.
 */
import type { Connection } from "../protocol/connection.ts";

export class PubSub {
  private subs = new Map<string, Set<Connection>>(); // "channel" or "channel/key"

  subscribe(conn: Connection, channel: string, key?: string): void {
    const k = key ? `${channel}/${key}` : channel;
    let s = this.subs.get(k);
    if (!s) this.subs.set(k, (s = new Set()));
    s.add(conn);
    conn.once("close", () => this.subs.get(k)?.delete(conn));
  }

  publish(channel: string, key: string, data: unknown): void {
    const send = (set: Set<Connection> | undefined): void => {
      if (!set) return;
      for (const c of set) c.notify("gcs.Published", { channel, key, data });
    };
    send(this.subs.get(channel));
    send(this.subs.get(`${channel}/${key}`));
  }
}
