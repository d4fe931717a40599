/**
 * @module common/kv_namespaces
 * Namespaces of the GCS KV store that several components read: the job API keeps its state there (the dashboard's job manager,
 * the job supervisor on workers, and the head's metrics export). No imports.
 */

/** One JSON JobDetails record per submission id. */
export const JOBS_NS = "jobs";
/** working_dir packages (`_stingray_pkg_<hash>.zip`). */
export const PACKAGES_NS = "packages";

/** The autoscaler's state: `resource_request` (requestResources bundles, JSON) and `status` (the monitor's last AutoscalerStatus, JSON). */
export const AUTOSCALER_NS = "autoscaler";
