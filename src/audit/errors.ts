/** A decision id or checkpoint size that names nothing in the log. */
export class AuditNotFoundError extends Error {
  override readonly name = "AuditNotFoundError";
}

/** A replay cannot run: the bundle, catalog revision or record it needs is not available. */
export class ReplayUnavailableError extends Error {
  override readonly name = "ReplayUnavailableError";
}

/** The log in the database does not add up; the checkpointer will not sign over it. */
export class LogIntegrityError extends Error {
  override readonly name = "LogIntegrityError";
}

/** An admin record could not be committed: the change it records is refused (fail closed). */
export class AdminRecordError extends Error {
  override readonly name = "AdminRecordError";
}
