import type { ConnectRouter } from "@connectrpc/connect";
import type { RequestLimits } from "../../config/index.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { AuditService } from "../../gen/sovereign/v1/audit_pb.js";
import { BudgetService } from "../../gen/sovereign/v1/budget_pb.js";
import { ByokService } from "../../gen/sovereign/v1/byok_pb.js";
import { CatalogService } from "../../gen/sovereign/v1/catalog_pb.js";
import { KeyService } from "../../gen/sovereign/v1/keys_pb.js";
import { RouterService } from "../../gen/sovereign/v1/router_pb.js";
import { UsageService } from "../../gen/sovereign/v1/usage_pb.js";
import { malformedRequestsAreInvalidArgument } from "../compat/index.js";
import { AuditServiceImpl } from "./audit-service.js";
import { BudgetServiceImpl } from "./budget-service.js";
import { ByokServiceImpl } from "./byok-service.js";
import { CatalogServiceImpl } from "./catalog-service.js";
import { HealthState, registerHealth } from "./health-service.js";
import { KeyServiceImpl } from "./key-service.js";
import { ReflectionIndex, registerReflection } from "./reflection-service.js";
import { RouterServiceImpl } from "./router-service.js";
import { UsageServiceImpl } from "./usage-service.js";

/** Every service this server answers, as health and reflection list them. */
export const SERVICES = [
  RouterService,
  CatalogService,
  AuditService,
  KeyService,
  ByokService,
  UsageService,
  BudgetService,
  Health,
] as const;

export interface ServiceDeps {
  keys: ConstructorParameters<typeof KeyServiceImpl>;
  byok: ConstructorParameters<typeof ByokServiceImpl>[0];
  budgets: ConstructorParameters<typeof BudgetServiceImpl>[0];
  router: ConstructorParameters<typeof RouterServiceImpl>[0];
  catalog: ConstructorParameters<typeof CatalogServiceImpl>[0];
  audit: ConstructorParameters<typeof AuditServiceImpl>[0];
  health: HealthState;
  /** Request size and per-part limits (SOVR_MAX_*_BYTES); the defaults when absent. */
  limits?: RequestLimits;
}

/** A health state for {@link SERVICES}, not serving until set. */
export function serviceHealth(): HealthState {
  return new HealthState(SERVICES.map((s) => s.typeName));
}

/** Registers the services, health, reflection and the malformed-request mapping on `r`. */
export function registerServices(r: ConnectRouter, d: ServiceDeps): void {
  r.service(KeyService, new KeyServiceImpl(...d.keys));
  r.service(ByokService, new ByokServiceImpl(d.byok));
  r.service(BudgetService, new BudgetServiceImpl(d.budgets));
  r.service(RouterService, new RouterServiceImpl(d.router, d.limits));
  r.service(CatalogService, new CatalogServiceImpl(d.catalog));
  r.service(AuditService, new AuditServiceImpl(d.audit));
  r.service(UsageService, new UsageServiceImpl({ db: d.audit.db, settled: d.audit.settled }));
  registerHealth(r, d.health);
  registerReflection(r, new ReflectionIndex([...SERVICES]));
  malformedRequestsAreInvalidArgument(r, d.limits?.requestBytes);
}
