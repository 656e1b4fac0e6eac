{{/*
cl.configData: the service's non-secret environment as a map. Listen
addresses are 0.0.0.0 in a pod (the binaries default to 127.0.0.1 for
local runs); the Kafka settings come from global.kafka; config: keys are
written as UPPER_SNAKE (allowedOrigins → ALLOWED_ORIGINS); the shutdown
deadline goes to the variable the service reads (shutdown.env).
*/}}
{{- define "cl.configData" -}}
{{- $data := dict }}
{{- range $name, $env := .Values.listen }}
{{- $_ := set $data $env (printf "0.0.0.0:%d" (int (index $.Values.ports $name))) }}
{{- end }}
{{- if .Values.kafkaClient }}
{{- $k := include "cl.kafka" . | fromYaml }}
{{- $_ := set $data "KAFKA_BROKERS" (include "cl.envValue" $k.brokers) }}
{{- $_ := set $data "KAFKA_TOPIC" $k.topic }}
{{- if $k.group }}{{ $_ := set $data "KAFKA_GROUP" $k.group }}{{ end }}
{{- end }}
{{- if .Values.fanoutClient }}
{{- $_ := set $data "FANOUT_ADDRS" (include "cl.fanoutAddrs" .) }}
{{- end }}
{{- $g := include "cl.global" . | fromYaml }}
{{- if and (hasKey (.Values.config | default dict) "allowedOrigins") $g.allowedOrigins }}
{{- $_ := set $data "ALLOWED_ORIGINS" (join "," $g.allowedOrigins) }}
{{- end }}
{{- $a := include "cl.auth" . | fromYaml }}
{{- if $a.enabled }}
{{- with $a.jwksUrl }}{{ $_ := set $data "AUTH_JWKS_URL" . }}{{ end }}
{{- with $a.issuer }}{{ $_ := set $data "AUTH_ISSUER" . }}{{ end }}
{{- with $a.audience }}{{ $_ := set $data "AUTH_AUDIENCE" . }}{{ end }}
{{- end }}
{{- if .Values.shutdown.env }}
{{- $_ := set $data .Values.shutdown.env (printf "%ds" (int .Values.shutdown.drainSeconds)) }}
{{- end }}
{{- range $key, $value := .Values.config }}
{{- /* An empty value leaves the service's own default in force. */}}
{{- if not (or (kindIs "invalid" $value) (empty (include "cl.envValue" $value))) }}
{{- $_ := set $data (include "cl.envName" $key) (include "cl.envValue" $value) }}
{{- end }}
{{- end }}
{{- range $key, $value := .Values.extraConfig }}
{{- $_ := set $data $key (toString $value) }}
{{- end }}
{{- toYaml $data }}
{{- end }}

{{- define "cl.configmap" -}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "cl.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "cl.labels" . | nindent 4 }}
data:
  {{- include "cl.configData" . | nindent 2 }}
{{- end }}

{{/*
cl.secret: a Secret with DATABASE_URL, only when database.url is given in
values. That is for a development cluster; in production the Secret is made
outside Helm (External Secrets, sealed secrets, a DBA) and named in
database.existingSecret, so the DSN's password never sits in a values file.
*/}}
{{- define "cl.secret" -}}
{{- if and .Values.database.enabled .Values.database.url }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "cl.databaseSecret" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "cl.labels" . | nindent 4 }}
type: Opaque
stringData:
  {{ .Values.database.secretKey }}: {{ .Values.database.url | quote }}
{{- end }}
{{- end }}

{{/* cl.secretEnv: the variables read from Secrets (secretKeyRef, never a literal). */}}
{{- define "cl.secretEnv" -}}
{{- if .Values.database.enabled }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "cl.databaseSecret" . }}
      key: {{ .Values.database.secretKey }}
{{- end }}
{{- $a := include "cl.auth" . | fromYaml }}
{{- if $a.enabled }}
- name: AUTH_JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $a.existingSecret }}
      key: {{ $a.secretKey }}
      {{- if $a.optional }}
      optional: true
      {{- end }}
{{- end }}
{{- end }}

{{/*
cl.checksum: changes whenever the pod's configuration does, so that a
config-only upgrade still rolls the pods (checksum/config).
*/}}
{{- define "cl.checksum" -}}
{{- $in := dict "config" (include "cl.configData" .) "secretEnv" (include "cl.secretEnv" .) "extraEnv" (toYaml .Values.extraEnv) }}
{{- if and .Values.database.enabled .Values.database.url }}{{ $_ := set $in "dsn" .Values.database.url }}{{ end }}
{{- toJson $in | sha256sum }}
{{- end }}

{{/*
cl.fanoutAddrs: every fanout instance, for the gateway's FANOUT_ADDRS. The
gateway keeps one gRPC stream per listed address and needs one to every
instance (each owns some partitions), so the list names each StatefulSet pod
by its stable DNS name through fanout's headless Service:
fanout-0.fanout-headless.NS.svc.cluster.local:8203, ... for
global.fanout.replicas pods. fanoutAddrs in values replaces the list.
*/}}
{{- define "cl.fanoutAddrs" -}}
{{- if .Values.fanoutAddrs }}
{{- join "," .Values.fanoutAddrs }}
{{- else }}
{{- $g := include "cl.global" . | fromYaml }}
{{- $f := $g.fanout | default dict }}
{{- $name := include "cl.sibling" (list . "fanout") }}
{{- $domain := $g.clusterDomain | default "cluster.local" }}
{{- $addrs := list }}
{{- range $i := until (int ($f.replicas | default 1)) }}
{{- $addrs = append $addrs (printf "%s-%d.%s-headless.%s.svc.%s:%d" $name $i $name $.Release.Namespace $domain (int ($f.grpcPort | default 8203))) }}
{{- end }}
{{- join "," $addrs }}
{{- end }}
{{- end }}
