// k8s-strict reads Kubernetes manifests (multi-document YAML, e.g. `helm template` output) on
// stdin and decodes each into its k8s.io/api type with the API server's strict decoding: an
// unknown or duplicate field, a wrong type or an unknown kind fails. It prints one line per
// object and exits 1 if any failed. test/deploy/helm-chart.test.ts runs it beside the
// kubernetes-models validation, whose validators accept unknown fields.
// Built by scripts/install-helm.sh into .tools/bin/k8s-strict.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
)

func main() {
	decoder := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(os.Stdin))
	objects, failed := 0, 0
	for {
		doc, err := reader.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		objects++
		_, gvk, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			failed++
			fmt.Fprintf(os.Stderr, "invalid: %v\n", err)
			continue
		}
		fmt.Printf("ok %s\n", gvk)
	}
	if objects == 0 {
		fmt.Fprintln(os.Stderr, "no objects on stdin")
		os.Exit(1)
	}
	if failed > 0 {
		os.Exit(1)
	}
}
