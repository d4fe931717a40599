/**
 * @module dashboard/job_keys
 * Where the job API keeps its state in the GCS KV store (shared by the dashboard's job manager
 * and the job supervisor on the workers; no imports, so neither pulls in the other).
 */

/** One JSON JobDetails record per submission id. */
export const JOBS_NS = "jobs";
/** working_dir packages (`_stingray_pkg_<hash>.zip`). */
export const PACKAGES_NS = "packages";

