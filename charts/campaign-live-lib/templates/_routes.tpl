{{/*
cl.httproute: the Gateway API HTTPRoute of the service's public paths
(route.matches), attached to global.gatewayApi.parentRefs. Each service
carries its own route, so a team that ships a service ships its paths; the
paths of all charts together are what tools/cmd/devedge routes locally.

Precedence between the charts' routes follows the Gateway API: exact paths,
then (in Envoy Gateway) regular expressions, then the longest prefix. So
/api/campaigns/7/contributions goes to contribution (a regular expression)
and every other /api/campaigns path to content (a prefix).
*/}}
{{- define "cl.httproute" -}}
{{- $g := include "cl.global" . | fromYaml }}
{{- $gw := $g.gatewayApi | default dict }}
{{- if and $gw.enabled .Values.route.enabled .Values.route.matches }}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: {{ include "cl.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "cl.labels" . | nindent 4 }}
spec:
  parentRefs:
    {{- toYaml $gw.parentRefs | nindent 4 }}
  {{- with $gw.hostnames }}
  hostnames:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  rules:
    - matches:
        {{- toYaml .Values.route.matches | nindent 8 }}
      backendRefs:
        - name: {{ include "cl.fullname" . }}
          port: {{ index .Values.ports .Values.route.port }}
      {{- with .Values.route.timeouts }}
      timeouts:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}
{{- end }}

{{/*
cl.ingress: the same paths as a networking.k8s.io/v1 Ingress, for clusters
that still run an Ingress controller. Regular-expression paths need the
controller's regex mode (ingress-nginx: use-regex, in global.ingress.annotations).
*/}}
{{- define "cl.ingress" -}}
{{- $g := include "cl.global" . | fromYaml }}
{{- $in := $g.ingress | default dict }}
{{- if and $in.enabled .Values.ingress.enabled .Values.ingress.paths }}
{{- $annotations := mergeOverwrite (deepCopy ($in.annotations | default dict)) (deepCopy (.Values.ingress.annotations | default dict)) }}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "cl.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "cl.labels" . | nindent 4 }}
  {{- with $annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with $in.className }}
  ingressClassName: {{ . }}
  {{- end }}
  {{- with $in.tls }}
  tls:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  rules:
    {{- $hosts := $in.hosts | default (list "") }}
    {{- range $host := $hosts }}
    - {{- if $host }}
      host: {{ $host | quote }}
      {{- end }}
      http:
        paths:
          {{- range $.Values.ingress.paths }}
          - path: {{ .path }}
            pathType: {{ .pathType }}
            backend:
              service:
                name: {{ include "cl.fullname" $ }}
                port:
                  name: {{ $.Values.route.port }}
          {{- end }}
    {{- end }}
{{- end }}
{{- end }}

{{/* cl.app: every object of a service, in the order a reader expects them. */}}
{{- define "cl.app" -}}
{{ include "cl.serviceaccount" . }}
{{ include "cl.configmap" . }}
{{ include "cl.secret" . }}
{{ include "cl.workload" . }}
{{ include "cl.service" . }}
{{ include "cl.headlessService" . }}
{{ include "cl.pdb" . }}
{{ include "cl.hpa" . }}
{{ include "cl.servicemonitor" . }}
{{ include "cl.networkpolicy" . }}
{{ include "cl.httproute" . }}
{{ include "cl.ingress" . }}
{{- end }}
