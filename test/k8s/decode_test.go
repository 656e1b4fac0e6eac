package k8s

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// object is one rendered manifest, decoded into its Go type.
type object struct {
	Source     string // helm's "# Source:" line, or the file
	APIVersion string
	Kind       string
	Meta       metav1.ObjectMeta
	Typed      any
}

func (o object) String() string { return fmt.Sprintf("%s %s (%s)", o.Kind, o.Meta.Name, o.Source) }

// kinds maps apiVersion/kind to a new value of its Go type. A kind that is
// not here fails the decode: every object the charts or k8s/ ship must be
// one the tests know how to check.
var kinds = map[string]func() any{
	"v1/ConfigMap":                                        func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                                           func() any { return &corev1.Secret{} },
	"v1/Service":                                          func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                                   func() any { return &corev1.ServiceAccount{} },
	"v1/Namespace":                                        func() any { return &corev1.Namespace{} },
	"apps/v1/Deployment":                                  func() any { return &appsv1.Deployment{} },
	"apps/v1/StatefulSet":                                 func() any { return &appsv1.StatefulSet{} },
	"batch/v1/Job":                                        func() any { return &batchv1.Job{} },
	"policy/v1/PodDisruptionBudget":                       func() any { return &policyv1.PodDisruptionBudget{} },
	"autoscaling/v2/HorizontalPodAutoscaler":              func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"networking.k8s.io/v1/NetworkPolicy":                  func() any { return &networkingv1.NetworkPolicy{} },
	"networking.k8s.io/v1/Ingress":                        func() any { return &networkingv1.Ingress{} },
	"gateway.networking.k8s.io/v1/HTTPRoute":              func() any { return &gwv1.HTTPRoute{} },
	"gateway.networking.k8s.io/v1/Gateway":                func() any { return &gwv1.Gateway{} },
	"gateway.networking.k8s.io/v1/GatewayClass":           func() any { return &gwv1.GatewayClass{} },
	"gateway.envoyproxy.io/v1alpha1/BackendTrafficPolicy": func() any { return &egv1a1.BackendTrafficPolicy{} },
	"gateway.envoyproxy.io/v1alpha1/EnvoyExtensionPolicy": func() any { return &egv1a1.EnvoyExtensionPolicy{} },
	"gateway.envoyproxy.io/v1alpha1/ClientTrafficPolicy":  func() any { return &egv1a1.ClientTrafficPolicy{} },
	"gateway.envoyproxy.io/v1alpha1/EnvoyProxy":           func() any { return &egv1a1.EnvoyProxy{} },
	"monitoring.coreos.com/v1/ServiceMonitor":             func() any { return &monitoringv1.ServiceMonitor{} },
	"monitoring.coreos.com/v1/PrometheusRule":             func() any { return &monitoringv1.PrometheusRule{} },
	"kafka.strimzi.io/v1/KafkaTopic":                      func() any { return &KafkaTopic{} },
}

// decodeAll splits a multi-document YAML stream and decodes each document
// strictly: a field its type does not have, or a key given twice, is an
// error. Empty documents (a disabled template) are skipped.
func decodeAll(stream []byte) ([]object, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	var objs []object
	var errs []error
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		o, err := decodeOne(doc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if o != nil {
			objs = append(objs, *o)
		}
	}
	return objs, errors.Join(errs...)
}

func decodeOne(doc []byte) (*object, error) {
	source := ""
	for _, line := range strings.Split(string(doc), "\n") {
		if s, ok := strings.CutPrefix(line, "# Source: "); ok {
			source = s
			break
		}
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return nil, fmt.Errorf("%s: not YAML: %v", source, err)
	}
	if head.APIVersion == "" && head.Kind == "" {
		var rest map[string]any
		if err := yaml.Unmarshal(doc, &rest); err == nil && len(rest) == 0 {
			return nil, nil // an empty document
		}
		return nil, fmt.Errorf("%s: a document without apiVersion and kind", source)
	}
	key := head.APIVersion + "/" + head.Kind
	newObj, ok := kinds[key]
	if !ok {
		return nil, fmt.Errorf("%s: %s is not a kind the tests know (add its Go type to kinds)", source, key)
	}
	typed := newObj()
	if err := strictUnmarshal(doc, typed); err != nil {
		return nil, fmt.Errorf("%s: %s: %v", source, key, err)
	}
	meta, err := metaOf(typed)
	if err != nil {
		return nil, err
	}
	return &object{Source: source, APIVersion: head.APIVersion, Kind: head.Kind, Meta: meta, Typed: typed}, nil
}

// strictUnmarshal decodes YAML as the API server does in strict mode:
// field names are case-sensitive (encoding/json would take tcpKeepAlive for
// tcpKeepalive), and an unknown or repeated field is an error.
func strictUnmarshal(doc []byte, v any) error {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(js, v, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

func metaOf(v any) (metav1.ObjectMeta, error) {
	type metaHolder interface{ GetObjectMeta() metav1.Object }
	if m, ok := v.(metaHolder); ok {
		o := m.GetObjectMeta()
		return metav1.ObjectMeta{Name: o.GetName(), Namespace: o.GetNamespace(), Labels: o.GetLabels(), Annotations: o.GetAnnotations()}, nil
	}
	if k, ok := v.(*KafkaTopic); ok {
		return k.ObjectMeta, nil
	}
	return metav1.ObjectMeta{}, fmt.Errorf("%T has no metadata", v)
}

// KafkaTopic is the part of Strimzi's KafkaTopic (kafka.strimzi.io/v1; the
// same fields in v1beta2) that campaign-live uses, kept here as its schema:
// there is no Go module of Strimzi's types. A field Strimzi's CRD does not
// have under spec is rejected by the strict decode.
type KafkaTopic struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		TopicName  string         `json:"topicName,omitempty"`
		Partitions int32          `json:"partitions"`
		Replicas   int32          `json:"replicas"`
		Config     map[string]any `json:"config,omitempty"`
	} `json:"spec"`
}

// find returns the objects of one kind.
func find[T any](objs []object) []*T {
	var out []*T
	for _, o := range objs {
		if v, ok := o.Typed.(*T); ok {
			out = append(out, v)
		}
	}
	return out
}

// named returns the object of type T with the given name, or nil.
func named[T any](objs []object, name string) *T {
	for _, o := range objs {
		if v, ok := o.Typed.(*T); ok && o.Meta.Name == name {
			return v
		}
	}
	return nil
}
