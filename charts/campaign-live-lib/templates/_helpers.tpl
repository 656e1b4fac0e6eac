{{/*
Names, labels and small values shared by every template of the library.
Every template takes the service chart's root context (.).
*/}}

{{/* cl.global: the global values, or an empty dict when there are none. */}}
{{- define "cl.global" -}}
{{- toYaml (.Values.global | default dict) -}}
{{- end }}

{{/* cl.name: the chart's name, for the app.kubernetes.io/name label. */}}
{{- define "cl.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
cl.fullname: the name of the service's objects. It is the chart's name with
global.namePrefix, not the release's: the services find each other by these
names, whether they are installed by the umbrella or one release each.
*/}}
{{- define "cl.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $g := include "cl.global" . | fromYaml }}
{{- printf "%s%s" ($g.namePrefix | default "") (include "cl.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* cl.sibling: the fullname another campaign-live chart has; call with (list . "fanout"). */}}
{{- define "cl.sibling" -}}
{{- $root := index . 0 }}
{{- $g := include "cl.global" $root | fromYaml }}
{{- printf "%s%s" ($g.namePrefix | default "") (index . 1) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "cl.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* cl.selectorLabels: the labels that select the service's pods; never change them in an upgrade. */}}
{{- define "cl.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cl.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "cl.labels" -}}
helm.sh/chart: {{ include "cl.chart" . }}
{{ include "cl.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/component: {{ .Values.component | quote }}
app.kubernetes.io/part-of: campaign-live
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* cl.image: registry/repository[:tag][@digest]; the tag defaults to the chart's appVersion. */}}
{{- define "cl.image" -}}
{{- $g := include "cl.global" . | fromYaml }}
{{- $registry := .Values.image.registry | default $g.imageRegistry | default "" }}
{{- $ref := .Values.image.repository }}
{{- if $registry }}{{ $ref = printf "%s/%s" $registry $ref }}{{ end }}
{{- $tag := .Values.image.tag | default $g.imageTag | default .Chart.AppVersion }}
{{- if and $tag (not .Values.image.digest) }}{{ $ref = printf "%s:%s" $ref $tag }}{{ end }}
{{- if .Values.image.digest }}{{ $ref = printf "%s@%s" $ref .Values.image.digest }}{{ end }}
{{- $ref }}
{{- end }}

{{- define "cl.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cl.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* cl.databaseSecret: the Secret that holds DATABASE_URL. */}}
{{- define "cl.databaseSecret" -}}
{{- .Values.database.existingSecret | default (printf "%s-db" (include "cl.fullname" .)) }}
{{- end }}

{{/* cl.kafka: global.kafka with the chart's own kafka keys over it (key by key, so that false and "" override too). */}}
{{- define "cl.kafka" -}}
{{- $g := include "cl.global" . | fromYaml }}
{{- $k := deepCopy ($g.kafka | default dict) }}
{{- range $key, $v := (.Values.kafka | default dict) }}{{ $_ := set $k $key $v }}{{ end }}
{{- toYaml $k }}
{{- end }}

{{/* cl.auth: global.auth with the chart's own auth values over it. */}}
{{- define "cl.auth" -}}
{{- $g := include "cl.global" . | fromYaml }}
{{- $a := deepCopy ($g.auth | default dict) }}
{{- range $key, $v := (.Values.auth | default dict) }}{{ $_ := set $a $key $v }}{{ end }}
{{- toYaml $a }}
{{- end }}

{{/* cl.replicas: the replicas of the workload (fanout's come from global.fanout.replicas, which the gateways read too). */}}
{{- define "cl.replicas" -}}
{{- $g := include "cl.global" . | fromYaml }}
{{- if and .Values.workload.replicasFromGlobalFanout $g.fanout $g.fanout.replicas }}
{{- $g.fanout.replicas }}
{{- else }}
{{- .Values.replicaCount }}
{{- end }}
{{- end }}

{{/*
cl.envName: a config key in camelCase as the service's variable, such as
allowedOrigins → ALLOWED_ORIGINS.
*/}}
{{- define "cl.envName" -}}
{{- . | snakecase | upper }}
{{- end }}

{{/* cl.envValue: a value as an environment string; lists are joined with commas. */}}
{{- define "cl.envValue" -}}
{{- if kindIs "slice" . }}{{ join "," . }}{{ else }}{{ toString . }}{{ end }}
{{- end }}

{{/*
cl.validate: fails the render on a combination that would break the
service in a cluster, with a message that names the value.
*/}}
{{- define "cl.validate" -}}
{{- $grace := int .Values.terminationGracePeriodSeconds }}
{{- $stop := int .Values.shutdown.preStopSleepSeconds }}
{{- $drain := int .Values.shutdown.drainSeconds }}
{{- if le $grace (add $stop $drain) }}
{{- fail (printf "%s: terminationGracePeriodSeconds (%d) must exceed shutdown.preStopSleepSeconds + shutdown.drainSeconds (%d + %d), or the kubelet kills the pod mid-drain" (include "cl.fullname" .) $grace $stop $drain) }}
{{- end }}
{{- if and .Values.autoscaling.enabled (eq .Values.workload.kind "StatefulSet") }}
{{- fail (printf "%s: autoscaling.enabled is not supported for a StatefulSet here: its replica count is read by other services (global.fanout.replicas)" (include "cl.fullname" .)) }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail (printf "%s: autoscaling.minReplicas exceeds autoscaling.maxReplicas" (include "cl.fullname" .)) }}
{{- end }}
{{- if .Values.workload.maxReplicasIsPartitions }}
{{- $k := include "cl.kafka" . | fromYaml }}
{{- $n := int (include "cl.replicas" .) }}
{{- if gt $n (int $k.partitions) }}
{{- fail (printf "%s: %d replicas but the topic has %d partitions (global.kafka.partitions): an instance beyond the partition count owns nothing and only adds a gRPC stream to every gateway" (include "cl.fullname" .) $n (int $k.partitions)) }}
{{- end }}
{{- end }}
{{- end }}
