package k8s

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite every chart's values.schema.json")

// TestValuesSchemas holds every chart's values.schema.json to what this file
// generates: one definition of the values the service charts share, so the
// seven schemas cannot drift apart. `scripts/k8s.sh schemas` rewrites them.
// helm lint and helm template validate values against these schemas, so a
// misspelt key or a value of the wrong type fails before anything renders.
func TestValuesSchemas(t *testing.T) {
	root := repoRoot(t)
	want := map[string]schema{"campaign-live": umbrellaSchema(), "campaign-live-lib": librarySchema()}
	for _, c := range serviceCharts {
		want[c] = serviceSchema(c)
	}
	for chart, s := range want {
		b, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, '\n')
		p := filepath.Join(root, "charts", chart, "values.schema.json")
		if *update {
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%v (run scripts/k8s.sh schemas)", err)
		}
		if !bytes.Equal(got, b) {
			t.Errorf("charts/%s/values.schema.json is not what test/k8s/schemagen_test.go generates: run scripts/k8s.sh schemas", chart)
		}
	}
}

type schema = map[string]any

func obj(props schema) schema {
	return schema{"type": "object", "additionalProperties": false, "properties": props}
}

func mapOf(values schema) schema { return schema{"type": "object", "additionalProperties": values} }

func anyObj(desc string) schema {
	s := schema{"type": "object"}
	if desc != "" {
		s["description"] = desc
	}
	return s
}

func str() schema                  { return schema{"type": "string"} }
func pattern(p string) schema      { return schema{"type": "string", "pattern": p} }
func enum(values ...string) schema { return schema{"type": "string", "enum": values} }
func boolean() schema              { return schema{"type": "boolean"} }
func listOf(items schema) schema   { return schema{"type": "array", "items": items} }
func describe(s schema, d string) schema {
	s["description"] = d
	return s
}

func integer(min, max int) schema {
	s := schema{"type": "integer", "minimum": min}
	if max > 0 {
		s["maximum"] = max
	}
	return s
}

func intOrString() schema {
	return schema{"anyOf": []schema{{"type": "integer", "minimum": 0}, pattern(`^[0-9]+%?$`)}}
}

// duration is a Go duration, or "" to keep the service's default.
func duration() schema {
	return pattern(`^$|^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`)
}

func hostPort() schema { return pattern(`^[^\s,:]+:[0-9]{1,5}$`) }

func globalSchema() schema {
	return describe(obj(schema{
		"namePrefix":       describe(pattern(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?-)?$`), "prefix of every object's name, ending with -"),
		"imageRegistry":    str(),
		"imageTag":         str(),
		"imagePullSecrets": listOf(obj(schema{"name": str()})),
		"clusterDomain":    str(),
		"allowedOrigins":   listOf(origin()),
		"kafka": obj(schema{
			"brokers":    schema{"type": "array", "items": hostPort(), "minItems": 1},
			"topic":      pattern(`^[a-zA-Z0-9._-]{1,249}$`),
			"partitions": describe(integer(1, 10000), "the topic's partition count; fanout replicas may not exceed it"),
		}),
		"auth": authSchema(),
		"fanout": obj(schema{
			"replicas": describe(integer(1, 10000), "fanout's replica count, read by fanout and the gateways"),
			"grpcPort": integer(1, 65535),
		}),
		"gatewayApi": obj(schema{
			"enabled":    boolean(),
			"parentRefs": schema{"type": "array", "items": anyObj("a Gateway API ParentReference"), "minItems": 1},
			"hostnames":  listOf(str()),
		}),
		"ingress": obj(schema{
			"enabled":     boolean(),
			"className":   str(),
			"hosts":       listOf(str()),
			"tls":         listOf(anyObj("an Ingress TLS entry")),
			"annotations": mapOf(str()),
		}),
		"networkPolicy": obj(schema{
			"enabled":         boolean(),
			"edgePeers":       listOf(anyObj("a NetworkPolicyPeer")),
			"monitoringPeers": listOf(anyObj("a NetworkPolicyPeer")),
		}),
		"serviceMonitor": obj(schema{"enabled": boolean(), "labels": mapOf(str())}),
	}), "shared by every campaign-live chart; set once in the umbrella")
}

func authSchema() schema {
	return obj(schema{
		"enabled":        boolean(),
		"existingSecret": str(),
		"secretKey":      str(),
		"optional":       boolean(),
		"jwksUrl":        pattern(`^$|^https://`),
		"issuer":         str(),
		"audience":       str(),
	})
}

// rate is N/DURATION (120/1m), 0 for no limit, or "" for the default.
func rate() schema { return pattern(`^$|^0$|^[0-9]+/([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`) }

func origin() schema { return pattern(`^https?://[^/?#@\s]+$`) }

func probeSchema() schema {
	return obj(schema{
		"path":             pattern(`^/`),
		"periodSeconds":    integer(1, 0),
		"timeoutSeconds":   integer(1, 0),
		"failureThreshold": integer(1, 0),
	})
}

// configSchema lists each service's settings (its environment variables,
// in camelCase); an unknown key is refused.
func configSchema(chart string) schema {
	logLevel := enum("", "debug", "info", "warn", "error")
	writer := schema{
		"logLevel":          logLevel,
		"outboxPoll":        duration(),
		"outboxBatch":       integer(1, 10000),
		"allowedOrigins":    listOf(origin()),
		"rateWritesPerIp":   rate(),
		"rateWritesPerUser": rate(),
	}
	switch chart {
	case "content":
		return obj(writer)
	case "contribution", "comment", "milestone":
		writer["replicaWait"] = duration()
		return obj(writer)
	case "fanout":
		return obj(schema{
			"logLevel":             logLevel,
			"kafkaCommitInterval":  duration(),
			"kafkaSessionTimeout":  duration(),
			"cursorEpoch":          integer(1, 2147483647),
			"recentItems":          integer(1, 1000),
			"historyMaxEvents":     schema{"type": []string{"integer", "null"}, "minimum": 1, "maximum": 1000000},
			"historyMaxAge":        duration(),
			"historyPruneInterval": duration(),
			"gatewayQueue":         integer(16, 1<<20),
			"gatewayStallTimeout":  duration(),
		})
	case "gateway":
		return obj(schema{
			"logLevel":         logLevel,
			"allowedOrigins":   listOf(origin()),
			"pongWait":         duration(),
			"writeTimeout":     duration(),
			"subscribeTimeout": duration(),
			"snapshotTimeout":  duration(),
			"readLimit":        integer(64, 1<<20),
			"sendQueue":        integer(1, 1<<16),
		})
	}
	return obj(schema{})
}

// serviceSchema is the schema of a chart built on campaign-live-lib.
func serviceSchema(chart string) schema {
	props := schema{
		"global":            globalSchema(),
		"enabled":           describe(boolean(), "read by the umbrella chart"),
		"campaign-live-lib": describe(anyObj(""), "the library chart's values (helm adds the key; it has none)"),
		"nameOverride":      str(),
		"fullnameOverride":  str(),
		"component":         str(),
		"image": obj(schema{
			"registry":   str(),
			"repository": schema{"type": "string", "minLength": 1},
			"tag":        str(),
			"digest":     pattern(`^$|^sha256:[a-f0-9]{64}$`),
			"pullPolicy": enum("Always", "IfNotPresent", "Never"),
		}),
		"imagePullSecrets":     listOf(obj(schema{"name": str()})),
		"replicaCount":         integer(0, 0),
		"revisionHistoryLimit": integer(0, 0),
		"workload": obj(schema{
			"kind":                     enum("Deployment", "StatefulSet"),
			"maxUnavailable":           intOrString(),
			"maxSurge":                 intOrString(),
			"replicasFromGlobalFanout": boolean(),
			"maxReplicasIsPartitions":  boolean(),
		}),
		"ports":        mapOf(integer(1, 65535)),
		"listen":       mapOf(pattern(`^[A-Z][A-Z0-9_]*$`)),
		"kafkaClient":  boolean(),
		"kafka":        obj(schema{"group": str()}),
		"fanoutClient": boolean(),
		"fanoutAddrs":  listOf(hostPort()),
		"database": obj(schema{
			"enabled":        boolean(),
			"existingSecret": str(),
			"secretKey":      str(),
			"url":            describe(str(), "development only: the chart makes the Secret"),
		}),
		"auth":        authSchema(),
		"config":      configSchema(chart),
		"extraConfig": mapOf(schema{"type": []string{"string", "number", "boolean"}}),
		"extraEnv":    listOf(anyObj("an EnvVar")),
		"shutdown": obj(schema{
			"env":                 pattern(`^$|^[A-Z][A-Z0-9_]*$`),
			"drainSeconds":        integer(0, 3600),
			"preStopSleepSeconds": integer(0, 3600),
		}),
		"terminationGracePeriodSeconds": integer(1, 0),
		"probes": obj(schema{
			"port":      str(),
			"startup":   probeSchema(),
			"readiness": probeSchema(),
			"liveness":  probeSchema(),
		}),
		"resources": anyObj("ResourceRequirements"),
		"podSecurityContext": schema{
			"type":       "object",
			"properties": schema{"runAsNonRoot": schema{"const": true}},
			"required":   []string{"runAsNonRoot"},
		},
		"securityContext": schema{
			"type": "object",
			"properties": schema{
				"runAsNonRoot":             schema{"const": true},
				"readOnlyRootFilesystem":   schema{"const": true},
				"allowPrivilegeEscalation": schema{"const": false},
			},
			"required": []string{"runAsNonRoot", "readOnlyRootFilesystem", "allowPrivilegeEscalation"},
		},
		"tmpSizeLimit":   str(),
		"serviceAccount": obj(schema{"create": boolean(), "name": str(), "annotations": mapOf(str())}),
		"service": obj(schema{
			"ports":        listOf(str()),
			"appProtocols": mapOf(str()),
			"annotations":  mapOf(str()),
		}),
		"headlessService": obj(schema{
			"enabled":                  boolean(),
			"publishNotReadyAddresses": boolean(),
			"ports":                    listOf(str()),
		}),
		"podDisruptionBudget": obj(schema{"enabled": boolean(), "maxUnavailable": intOrString()}),
		"autoscaling": obj(schema{
			"enabled":                           boolean(),
			"minReplicas":                       integer(1, 0),
			"maxReplicas":                       integer(1, 0),
			"targetCPUUtilizationPercentage":    schema{"type": []string{"integer", "null"}, "minimum": 1, "maximum": 100},
			"targetMemoryUtilizationPercentage": schema{"type": []string{"integer", "null"}, "minimum": 1, "maximum": 100},
			"extraMetrics":                      listOf(anyObj("an autoscaling/v2 MetricSpec")),
			"behavior":                          anyObj("HorizontalPodAutoscalerBehavior"),
		}),
		"serviceMonitor": obj(schema{
			"enabled":       boolean(),
			"port":          str(),
			"path":          pattern(`^/`),
			"interval":      duration(),
			"scrapeTimeout": duration(),
			"labels":        mapOf(str()),
		}),
		"networkPolicy": obj(schema{
			"enabled":      boolean(),
			"publicPorts":  listOf(schema{"type": []string{"string", "integer"}}),
			"extraIngress": listOf(anyObj("a NetworkPolicyIngressRule")),
			"egress":       listOf(anyObj("a NetworkPolicyEgressRule")),
		}),
		"route": obj(schema{
			"enabled":  boolean(),
			"port":     str(),
			"matches":  listOf(anyObj("a Gateway API HTTPRouteMatch")),
			"timeouts": anyObj("HTTPRouteTimeouts"),
		}),
		"ingress": obj(schema{
			"enabled":     boolean(),
			"annotations": mapOf(str()),
			"paths": listOf(obj(schema{
				"path":     pattern(`^/`),
				"pathType": enum("Prefix", "Exact", "ImplementationSpecific"),
			})),
		}),
		"podAnnotations":    mapOf(str()),
		"podLabels":         mapOf(str()),
		"priorityClassName": str(),
		"nodeSelector":      mapOf(str()),
		"tolerations":       listOf(anyObj("a Toleration")),
		"affinity":          anyObj("replaces the default anti-affinity"),
		"podAntiAffinity":   enum("soft", "hard"),
		"topologySpread":    obj(schema{"enabled": boolean(), "topologyKey": str()}),
		"extraVolumes":      listOf(anyObj("a Volume")),
		"extraVolumeMounts": listOf(anyObj("a VolumeMount")),
	}
	if chart == "gateway" {
		props["envoyGateway"] = obj(schema{
			"enabled": boolean(),
			// A pseudo-header such as :path carries the query string (the token).
			"hashHeader":            describe(pattern(`^[a-zA-Z0-9][a-zA-Z0-9-]*$`), "the header the Lua filter sets to the campaign id; never a pseudo-header such as :path"),
			"connectionIdleTimeout": duration(),
		})
	}
	return schema{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"title":                "campaign-live " + chart + " chart values",
		"type":                 "object",
		"additionalProperties": false,
		"properties":           props,
	}
}

func umbrellaSchema() schema {
	props := schema{"global": globalSchema()}
	for _, c := range serviceCharts {
		props[c] = schema{
			"type":        "object",
			"description": "the " + c + " chart's values (charts/" + c + "/values.schema.json)",
			"properties":  schema{"enabled": boolean()},
		}
	}
	props["authSecret"] = obj(schema{"create": boolean(), "jwtSecret": str()})
	props["bootstrap"] = obj(schema{
		"databases": obj(schema{
			"enabled":        boolean(),
			"image":          str(),
			"adminSecret":    str(),
			"adminSecretKey": str(),
			"names":          listOf(pattern(`^[a-z_][a-z0-9_]*$`)),
			"owner":          pattern(`^$|^[a-z_][a-z0-9_]*$`),
		}),
		"kafkaTopic": obj(schema{
			"enabled":           boolean(),
			"image":             str(),
			"replicationFactor": integer(1, 0),
			"minInsyncReplicas": integer(1, 0),
		}),
	})
	props["monitoring"] = monitoringSchema()
	return schema{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"title":                "campaign-live umbrella chart values",
		"type":                 "object",
		"additionalProperties": false,
		"properties":           props,
	}
}

// promDuration is a Prometheus duration as the Prometheus Operator's
// PrometheusRule accepts it in for: (1h30m, 5m, 90s; an alert's for may
// not be empty).
func promDuration() schema {
	return pattern(`^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$`)
}

// alertSchema is one alert of monitoring.alerts: how long its condition
// holds before it fires, its severity label and, when it compares, its
// threshold.
func alertSchema(threshold string) schema {
	props := schema{
		"for":      schema{"type": "string", "minLength": 1, "pattern": promDuration()["pattern"]},
		"severity": schema{"type": "string", "minLength": 1},
	}
	if threshold != "" {
		// A number, or its text: helm --set passes 0.05 as a string.
		props["threshold"] = describe(schema{"anyOf": []schema{
			{"type": "number", "minimum": 0},
			pattern(`^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$`),
		}}, threshold)
	}
	return obj(props)
}

func monitoringSchema() schema {
	return obj(schema{
		"dashboards": obj(schema{
			"enabled":     boolean(),
			"labels":      mapOf(str()),
			"annotations": mapOf(str()),
			"namespace":   describe(pattern(`^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`), "the ConfigMap's namespace; empty: the release's"),
		}),
		"alerts": obj(schema{
			"enabled":            boolean(),
			"labels":             mapOf(str()),
			"alertLabels":        mapOf(str()),
			"selector":           describe(str(), `PromQL label matchers for this installation's series; empty: namespace="<release namespace>"`),
			"fanoutLag":          alertSchema("records fanout has not consumed, over every partition"),
			"writerLag":          alertSchema("records a writing service's consumer group has not consumed"),
			"outboxOldestAge":    alertSchema("seconds the oldest outbox row has waited"),
			"deliveryLatencyP99": alertSchema("write-to-socket p99, seconds"),
			"slowClientCloses":   alertSchema("slow-client closes a second, every gateway"),
			"fanoutDown":         alertSchema(""),
			"fanoutNotConsuming": alertSchema(""),
		}),
	})
}

// librarySchema: the library chart has no values of its own; its templates
// read the values of the chart that includes them (serviceSchema).
func librarySchema() schema {
	return schema{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"title":                "campaign-live-lib (library chart: no values of its own)",
		"type":                 "object",
		"additionalProperties": false,
		"properties":           schema{"global": schema{"type": "object"}},
	}
}
