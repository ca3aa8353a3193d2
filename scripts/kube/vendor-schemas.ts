/**
 * Vendors the JSON Schemas that test/unit/kubernetes.test.ts validates the rendered manifests against, cut down
 * to the kinds deploy/kubernetes uses (the full Kubernetes document is 4 MB). Run it again to move to newer
 * versions, and update deploy/kubernetes/schemas/SOURCE.md with what you read:
 *
 *   node --import tsx scripts/kube/vendor-schemas.ts <kubernetes swagger.json> <prometheus-operator CRD folder>
 *
 * The swagger.json is the Kubernetes API document (kubernetes/kubernetes api/openapi-spec/swagger.json, also
 * published as kubernetes-client/python kubernetes/swagger.json.unprocessed); the CRD folder is
 * prometheus-operator's example/prometheus-operator-crd/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

type Json = Record<string, unknown>;

const OUT = path.resolve(import.meta.dirname, '../../deploy/kubernetes/schemas');

/** The core kinds deploy/kubernetes renders: apiVersion/kind -> the swagger definition. */
export const KUBERNETES_KINDS: Record<string, string> = {
  'v1/Namespace': 'io.k8s.api.core.v1.Namespace',
  'v1/ServiceAccount': 'io.k8s.api.core.v1.ServiceAccount',
  'v1/ConfigMap': 'io.k8s.api.core.v1.ConfigMap',
  'v1/Service': 'io.k8s.api.core.v1.Service',
  'apps/v1/Deployment': 'io.k8s.api.apps.v1.Deployment',
  'policy/v1/PodDisruptionBudget': 'io.k8s.api.policy.v1.PodDisruptionBudget',
};

/** prometheus-operator CRD files whose served versions are vendored. */
const CRDS = [
  'monitoring.coreos.com_prometheusrules.yaml',
  'monitoring.coreos.com_servicemonitors.yaml',
  'monitoring.coreos.com_scrapeconfigs.yaml',
  'monitoring.coreos.com_alertmanagerconfigs.yaml',
];

/** Every definition `name` reaches through $ref, itself included. */
function closure(defs: Record<string, Json>, name: string, seen = new Set<string>()): Set<string> {
  if (seen.has(name)) return seen;
  seen.add(name);
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref' && typeof x === 'string') closure(defs, x.replace('#/definitions/', ''), seen);
        else walk(x);
      }
    }
  };
  walk(defs[name]);
  return seen;
}

/** Drops descriptions (most of the size) and turns swagger's string-typed unions into what they accept. */
function slim(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(slim);
  if (!v || typeof v !== 'object') return v;
  const o = v as Json;
  // IntOrString and Quantity are declared `type: string` with a format, yet accept numbers (port: 8080).
  if (o.format === 'int-or-string')
    return { 'x-kubernetes-int-or-string': true, type: ['integer', 'string'] };
  if (o.format === 'quantity') return { type: ['string', 'number'] };
  const out: Json = {};
  for (const [k, x] of Object.entries(o)) if (k !== 'description') out[k] = slim(x);
  return out;
}

function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 1) + '\n');
}

function vendorKubernetes(swaggerFile: string): void {
  const swagger = JSON.parse(fs.readFileSync(swaggerFile, 'utf8')) as { definitions: Record<string, Json> };
  for (const [gvk, def] of Object.entries(KUBERNETES_KINDS)) {
    const names = [...closure(swagger.definitions, def)].sort();
    const definitions = Object.fromEntries(names.map((n) => [n, slim(swagger.definitions[n])]));
    const kind = gvk.split('/').at(-1)!;
    writeJson(path.join(OUT, 'kubernetes', `${kind.toLowerCase()}.json`), {
      $comment: `Kubernetes ${gvk}, cut from the API document's ${def} (see ../SOURCE.md)`,
      $ref: `#/definitions/${def}`,
      definitions,
    });
  }
}

function vendorCrds(dir: string): void {
  for (const file of CRDS) {
    const crd = parse(fs.readFileSync(path.join(dir, file), 'utf8')) as {
      spec: {
        group: string;
        names: { kind: string };
        versions: { name: string; served: boolean; schema: { openAPIV3Schema: Json } }[];
      };
    };
    for (const v of crd.spec.versions.filter((x) => x.served)) {
      writeJson(
        path.join(OUT, 'prometheus-operator', `${crd.spec.names.kind.toLowerCase()}-${v.name}.json`),
        {
          $comment: `${crd.spec.group}/${v.name} ${crd.spec.names.kind}: openAPIV3Schema of ${file} (see ../SOURCE.md)`,
          ...(slim(v.schema.openAPIV3Schema) as Json),
        },
      );
    }
  }
}

const [swagger, crdDir] = process.argv.slice(2);
if (!swagger || !crdDir) {
  console.error('usage: vendor-schemas.ts <kubernetes swagger.json> <prometheus-operator CRD folder>');
  process.exit(2);
}
vendorKubernetes(swagger);
vendorCrds(crdDir);
console.log(`schemas written under ${path.relative(process.cwd(), OUT)}`);
