/**
 * The public face of audit/ (DESIGN §8, docs/audit.md): the tamper-evident log and its store,
 * record format, Ed25519 keys, DSSE envelopes, the RFC 9162 Merkle tree and proofs, C2SP
 * checkpoints, and the offline export format and verifier. Other folders import only from here.
 */

export {
  type AdminEntry,
  type AdminFilter,
  decisionPosition,
  queryAdminRecords,
} from "./admin-query.js";
export {
  type AdminActor,
  type AdminChange,
  AdminTrail,
  LOCAL_ACTOR,
  SYSTEM_ACTOR,
} from "./admin-trail.js";
export { AuditLog } from "./audit-log.js";
export {
  checkpointAt,
  checkpointsUpTo,
  countTenantEntries,
  type DecisionCursor,
  type DecisionFilter,
  decisionEntries,
  logSize,
  publishedKeys,
  queryDecisions,
  readEntries,
  readTenantEntries,
  type StoredCheckpoint,
  type StoredEntry,
} from "./audit-store.js";
export type { Checkpoint } from "./checkpoint.js";
export {
  CheckpointError,
  checkpointVerifiers,
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
} from "./checkpoint.js";
export { Checkpointer } from "./checkpointer.js";
export type { CoCommitHook, RefusedForm } from "./co-commit.js";
export type { CosignatureVerifier } from "./cosignature.js";
export {
  ALG_COSIGNATURE_V1,
  cosignatureKeyHash,
  cosignatureSigner,
  cosignatureTime,
  cosignatureVerifier,
  cosigners,
  parseCosignerKey,
} from "./cosignature.js";
export type { StoredCosignature } from "./cosignature-store.js";
export { cosignaturesOf, cosignaturesUpTo, cosignedNote, saveCosignature } from "./cosignature-store.js";
export { type DecisionFacetFilter, needsEndpointFacts } from "./decision-facet-filter.js";
export { decisionFacets } from "./decision-facets.js";
export {
  CommitSignal,
  decisionFeed,
  FEED_PAGE,
  FEED_POLL_MS,
  type FeedEntry,
  type FeedItem,
} from "./decision-feed.js";
export { countDecisions, decisionPayloads } from "./decision-query.js";
export type { DsseEnvelope, DsseSignature, EnvelopeVerification } from "./dsse.js";
export {
  entryLeafHash,
  envelopeBytes,
  envelopePayload,
  pae,
  RECORD_PAYLOAD_TYPE,
  signEnvelope,
  verifyEnvelope,
} from "./dsse.js";
export { endpointFacts, ensureEndpointFacts } from "./endpoint-facts.js";
export { AdminRecordError, AuditNotFoundError, LogIntegrityError, ReplayUnavailableError } from "./errors.js";
export { type ExplainedDecision, explainExport } from "./explain-export.js";
export {
  CATALOGS_DIR,
  type CatalogProblem,
  CatalogReferences,
  catalogDocumentRevision,
  catalogFileName,
  checkCatalogs,
  isCatalogRevisionId,
  payloadCatalogRevision,
} from "./export-catalogs.js";
export type { ExportCheckpoint, ExportEntry, ExportKeys } from "./export-format.js";
export {
  CHECKPOINTS_FILE,
  EXPORT_FORMAT,
  ExportWriter,
  exportKeys,
  KEYS_FILE,
  RECORDS_FILE,
  writeExport,
} from "./export-format.js";
export {
  readShardsIndex,
  SHARDS_FILE,
  SHARDS_FORMAT,
  type ShardsIndex,
  shardDir,
  writeShardsIndex,
} from "./export-shards.js";
export { AuditJournal, JournalError } from "./journal.js";
export {
  checkKeptCheckpoints,
  KeptCheckpointsError,
  parseKeptCheckpoints,
  readKeptCheckpoints,
} from "./kept-checkpoints.js";
export type { PublicKeyInfo, PublishedKey, SigningKey } from "./keys.js";
export {
  fromPublishedKey,
  generateSigningKey,
  KeyRing,
  keyIdOf,
  loadSigningKey,
  loadSigningKeys,
  publicKeyFromPem,
  publicKeyFromRaw,
  publicKeyToPem,
  saveSigningKey,
  signingKeyFromPem,
  signingKeyFromSeed,
  signingKeyToPem,
  toPublishedKey,
  verifyEd25519,
} from "./keys.js";
export type { SignedCheckpoint } from "./latest-checkpoint-file.js";
export {
  CheckpointFileError,
  LATEST_CHECKPOINT_FILE,
  LatestCheckpointFile,
} from "./latest-checkpoint-file.js";
export { ensureLogLayout, LogLayoutError } from "./log-layout.js";
export {
  ONE_SHARD,
  parseShardMap,
  SEQUENCER_LOCK_KEY,
  type ShardLayout,
  sequencerLockKey,
  shardOf,
  shardOrigin,
} from "./log-shards.js";
export {
  EMPTY_ROOT,
  equalBytes,
  HASH_SIZE,
  leafHash,
  MerkleTree,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
} from "./merkle.js";
export type { NoteSignature, NoteSigner, NoteVerifier } from "./note.js";
export {
  ed25519KeyHash,
  formatVerifierKey,
  NoteError,
  noteSigner,
  noteVerifier,
  openNote,
  parseNote,
  parseVerifierKey,
  signNote,
} from "./note.js";
export type { ProofCheck } from "./proofs.js";
export { verifyCheckpointConsistency, verifyEntryInclusion, verifyLeafInclusion } from "./proofs.js";
export {
  type AppendedEntry,
  encodeReceipt,
  parseReceipt,
  RECEIPT_HEADER,
  type Receipt,
  type ReceiptEntry,
  ReceiptFormatError,
  receiptIssuer,
  sameLog,
  verifyReceipt,
} from "./receipt.js";
export type {
  AdminAction,
  AdminCallerRecord,
  AdminRecord,
  AdminTarget,
  AttemptRecord,
  AuditRecord,
  CallerRecord,
  CandidateColumns,
  CandidateRecord,
  CheckRecord,
  DecisionInput,
  DecisionRecord,
  DecisionRecordV1,
  DecisionRecordV2,
  ExclusionRecord,
  Modality,
  Outcome,
  OutcomeInput,
  OutcomeRecord,
  PolicyRef,
  Principal,
  RecordHeader,
  RecordJson,
  RequestSummary,
  Unsequenced,
} from "./record.js";
export {
  buildDecisionRecord,
  buildOutcomeRecord,
  decodeRecord,
  encodeRecord,
  encodeSequenced,
  nowUs,
  PLATFORM_TENANT,
  RECORD_FORMAT_VERSION,
  RecordFormatError,
  recordTenant,
  usdToMicro,
  validateRecord,
  withTenantSeq,
} from "./record.js";
export { type AdminInput, buildAdminRecord } from "./record-admin.js";
export {
  type AppliedCheckRecord,
  appliedResults,
  type CheckResult,
  linkChecks,
} from "./record-applied.js";
export { type CandidateRow, candidateColumns, candidateRows } from "./record-candidates.js";
export { ADMIN_ACTIONS } from "./record-schema.js";
export { currentSigningKey, publishSigningKey, rotateSigningKey } from "./signing-keys.js";
export { type UsageGroup, type UsageQuery, type UsageRow, usageReport } from "./usage-report.js";
export type { TrustedKeys, VerifyError, VerifyOptions, VerifyResult } from "./verifier.js";
export { verifyExport } from "./verifier.js";
export type { WitnessAnswer, WitnessedLog, WitnessLogger } from "./witness.js";
export { Witness } from "./witness.js";
export type { WitnessClientDeps, WitnessEndpoint } from "./witness-client.js";
export { WitnessClient } from "./witness-client.js";
export { witnessServer } from "./witness-http.js";
export type { AddCheckpointRequest } from "./witness-protocol.js";
export { formatAddCheckpoint, parseAddCheckpoint, parseSizeBody } from "./witness-protocol.js";
export type { WitnessRequirement } from "./witness-quorum.js";
export type { WitnessedHead } from "./witness-state.js";
export { WitnessStateError, WitnessStateFile } from "./witness-state.js";
