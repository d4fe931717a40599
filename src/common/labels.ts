/**
 * @module common/labels
 * Node labels and label selectors (`--labels='{"zone": "a"}'`, `labelSelector: { zone: "a" }`),
 * shared by the raylet's placement and the GCS's actor placement.
 */

/** Does a node with `labels` satisfy `selector`? Values match exactly; "!v" means "not v". */
export function matchesLabels(labels: Record<string, string> | undefined, selector: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  for (const [k, want] of Object.entries(selector)) {
    const have = labels?.[k];
    if (want.startsWith("!")) { if (have === want.slice(1)) return false; }
    else if (have !== want) return false;
  }
  return true;
}

/** Label a node started by the cluster launcher carries: its provider's id (EC2 instance id, IP, pod name). */
export const INSTANCE_ID_LABEL = "stingray.io/cloud-instance-id";
/** Label a node started by the cluster launcher carries: its `available_node_types` key. */
export const NODE_TYPE_LABEL = "stingray.io/node-type";
