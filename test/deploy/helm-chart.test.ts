import { execFile, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { REPO } from "../support/app.js";

/**
 * deploy/helm/sovr: `helm lint --strict`, and every object `helm template` renders validated
 * against the Kubernetes API types offline, twice: kubernetes-models (each object constructed
 * with its model class, then `.validate()`: types, required fields, enums) and k8s-strict
 * (scripts/k8s-strict: the API server's strict decoding into k8s.io/api, which also refuses
 * unknown fields — kubernetes-models accepts them); plus what the chart promises (non-root,
 * read-only root, probes, the secrets wired in). helm and k8s-strict come from
 * scripts/install-helm.sh (.ci/run runs it); the tests skip only when no helm is found.
 */
const run = promisify(execFile);
const CHART = join(REPO, "deploy/helm/sovr");
const helmBin =
  [process.env.SOVR_HELM_BIN, join(REPO, ".tools/bin/helm")].find((p) => p && existsSync(p)) ?? "helm";
const haveHelm = spawnSync(helmBin, ["version"]).status === 0;
const KUBE_VERSION = "1.31.0";
const STRICT = join(REPO, ".tools/bin/k8s-strict");

const MODELS = {
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "v1/ServiceAccount": ServiceAccount,
  "apps/v1/Deployment": Deployment,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
} as const;

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are checked field by field below
type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; [k: string]: any };

const REQUIRED = [
  "--set",
  "database.url=postgres://sovr:pw@db:5432/sovr",
  "--set",
  "signingKeys.existingSecret=sovr-keys",
];

async function render(args: string[]): Promise<Manifest[]> {
  const { stdout } = await run(helmBin, ["template", "r", CHART, "--kube-version", KUBE_VERSION, ...args]);
  expect(strictDecode(stdout)).toEqual({ status: 0, stderr: "" });
  return parseAllDocuments(stdout)
    .map((d) => d.toJSON() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

/** Every object decoded strictly into its k8s.io/api type (unknown fields refused). */
function strictDecode(manifests: string): { status: number | null; stderr: string } {
  expect(existsSync(STRICT), `${STRICT}: run scripts/install-helm.sh`).toBe(true);
  const { status, stderr } = spawnSync(STRICT, { input: manifests, encoding: "utf8" });
  return { status, stderr };
}

/** Constructs each object with its model class and validates it; an unknown kind fails. */
function validateAll(objects: Manifest[]): void {
  for (const o of objects) {
    const Model = MODELS[`${o.apiVersion}/${o.kind}` as keyof typeof MODELS];
    expect(Model, `${o.apiVersion} ${o.kind} has a model`).toBeDefined();
    // biome-ignore lint/suspicious/noExplicitAny: each model takes its own shape
    new (Model as any)(o).validate();
  }
}

const find = (objects: Manifest[], kind: string, name?: string) => {
  const o = objects.find((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  expect(o, `${kind} ${name ?? ""}`).toBeDefined();
  return o!;
};

describe.skipIf(!haveHelm)("the Helm chart", () => {
  it("passes helm lint --strict", async () => {
    const { stdout } = await run(helmBin, [
      "lint",
      "--strict",
      CHART,
      "--kube-version",
      KUBE_VERSION,
      ...REQUIRED,
    ]);
    expect(stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it("refuses to render without a database or a shared signing key, naming the value", async () => {
    await expect(render([])).rejects.toThrow(/database\.url or database\.existingSecret/);
    await expect(render(["--set", "database.url=postgres://x@db/sovr"])).rejects.toThrow(
      /signingKeys\.existingSecret or signingKeys\.files/,
    );
  });

  it("the validators reject what the API server would (so the checks below can fail)", () => {
    const bad = new Service({
      metadata: { name: "x" },
      spec: { ports: [{ port: "grpc" as unknown as number }] },
    });
    expect(() => bad.validate()).toThrow();
    const misspelled =
      "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports: [{port: 80, apProtocol: http}]\n";
    const r = strictDecode(misspelled);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/unknown field "spec\.ports\[0\]\.apProtocol"/);
  });

  it("renders valid objects with existing secrets: non-root, read-only, probed, secrets by reference", async () => {
    const objects = await render([
      ...REQUIRED,
      "--set",
      "database.existingSecret=sovr-db",
      "--set",
      "masterKey.existingSecret=sovr-byok",
    ]);
    validateAll(objects);
    expect(objects.map((o) => o.kind).sort()).toEqual([
      "ConfigMap",
      "Deployment",
      "HorizontalPodAutoscaler",
      "NetworkPolicy",
      "PodDisruptionBudget",
      "Service",
      "ServiceAccount",
    ]);

    const pod = find(objects, "Deployment").spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001 });
    const [sovr] = pod.containers;
    for (const c of [sovr, ...pod.initContainers]) {
      expect(c.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
      });
    }
    expect(sovr.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
    expect(sovr.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(sovr.startupProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
    const env = Object.fromEntries(sovr.env.map((e: { name: string }) => [e.name, e]));
    expect(env.DATABASE_URL.valueFrom.secretKeyRef).toEqual({ name: "sovr-db", key: "DATABASE_URL" });
    expect(env.SOVR_MASTER_KEY.valueFrom.secretKeyRef).toEqual({ name: "sovr-byok", key: "SOVR_MASTER_KEY" });
    expect(pod.volumes.find((v: { name: string }) => v.name === "signing-keys").secret.secretName).toBe(
      "sovr-keys",
    );
    // The only writable path is the /data volume.
    expect(sovr.volumeMounts.filter((m: { readOnly?: boolean }) => !m.readOnly)).toEqual([
      { name: "data", mountPath: "/data" },
    ]);
    expect(sovr.lifecycle.preStop.exec.command).toEqual(["node", "-e", "setTimeout(() => {}, 5000)"]);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(
      5 + Number(find(objects, "ConfigMap").data.SOVR_DRAIN_MS) / 1000,
    );

    const svc = find(objects, "Service");
    expect(svc.spec.ports.map((p: { name: string; appProtocol: string }) => [p.name, p.appProtocol])).toEqual(
      [
        ["grpc", "kubernetes.io/h2c"],
        ["http", "http"],
      ],
    );
    expect(find(objects, "PodDisruptionBudget").spec.minAvailable).toBe(1);
    expect(find(objects, "HorizontalPodAutoscaler").spec.scaleTargetRef.name).toBe(
      find(objects, "Deployment").metadata.name,
    );
    const np = find(objects, "NetworkPolicy").spec;
    expect(np.policyTypes).toEqual(["Ingress", "Egress"]);
    expect(np.ingress[0].ports.map((p: { port: string }) => p.port)).toEqual(["grpc", "http"]);
  });

  it("renders valid objects with the chart's own secrets, a catalog and every option on", async () => {
    const objects = await render([
      "--set",
      "database.url=postgres://sovr:pw@db:5432/sovr",
      "--set",
      "masterKey.value=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
      "--set-string",
      "signingKeys.files.current=k1",
      "--set-string",
      "signingKeys.files.k1\\.key\\.pem=PEM",
      "--set-string",
      "catalog.acme\\.yaml=provider: acme",
      "--set",
      "service.headless=true",
      "--set",
      "autoscaling.enabled=false",
      "--set",
      "replicaCount=3",
      "--set",
      "networkPolicy.ingressFrom[0].namespaceSelector.matchLabels.team=apps",
    ]);
    validateAll(objects);
    const secret = find(objects, "Secret", "r-sovr");
    expect(Object.keys(secret.stringData).sort()).toEqual(["DATABASE_URL", "SOVR_MASTER_KEY"]);
    expect(Object.keys(find(objects, "Secret", "r-sovr-signing-keys").stringData).sort()).toEqual([
      "current",
      "k1.key.pem",
    ]);
    expect(find(objects, "ConfigMap", "r-sovr-catalog").data["acme.yaml"]).toBe("provider: acme\n");
    expect(find(objects, "ConfigMap", "r-sovr").data.SOVR_CATALOG_DIR).toBe("/etc/sovr/catalog");
    expect(find(objects, "Service", "r-sovr-headless").spec.clusterIP).toBe("None");
    expect(find(objects, "Deployment").spec.replicas).toBe(3);
    expect(objects.some((o) => o.kind === "HorizontalPodAutoscaler")).toBe(false);
    expect(find(objects, "NetworkPolicy").spec.ingress[0].from).toEqual([
      { namespaceSelector: { matchLabels: { team: "apps" } } },
    ]);
  });
});
