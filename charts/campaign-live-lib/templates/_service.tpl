{{/* cl.service: the ClusterIP Service, with the ports named in service.ports. */}}
{{- define "cl.service" -}}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "cl.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "cl.labels" . | nindent 4 }}
  {{- with .Values.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: ClusterIP
  selector:
    {{- include "cl.selectorLabels" . | nindent 4 }}
  ports:
    {{- range .Values.service.ports }}
    - name: {{ . }}
      port: {{ index $.Values.ports . }}
      targetPort: {{ . }}
      protocol: TCP
      {{- with (index ($.Values.service.appProtocols | default dict) .) }}
      appProtocol: {{ . }}
      {{- end }}
    {{- end }}
{{- end }}

{{/*
cl.headlessService: a Service without a cluster IP, so that each pod of a
StatefulSet has a stable DNS name (POD.NAME-headless.NS.svc). Not-ready pods
are published too: a client that keeps one stream per instance (the gateway)
should reach an instance as soon as it listens, not only once it is ready.
*/}}
{{- define "cl.headlessService" -}}
{{- if .Values.headlessService.enabled }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "cl.fullname" . }}-headless
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "cl.labels" . | nindent 4 }}
spec:
  clusterIP: None
  publishNotReadyAddresses: {{ .Values.headlessService.publishNotReadyAddresses }}
  selector:
    {{- include "cl.selectorLabels" . | nindent 4 }}
  ports:
    {{- range .Values.headlessService.ports }}
    - name: {{ . }}
      port: {{ index $.Values.ports . }}
      targetPort: {{ . }}
      protocol: TCP
      {{- with (index ($.Values.service.appProtocols | default dict) .) }}
      appProtocol: {{ . }}
      {{- end }}
    {{- end }}
{{- end }}
{{- end }}

{{/*
cl.pdb: at most podDisruptionBudget.maxUnavailable pods evicted at a time
(node drains, cluster upgrades). Rendered when more than one pod can run:
a budget over a single pod either blocks drains or protects nothing.
*/}}
{{- define "cl.pdb" -}}
{{- $many := or .Values.autoscaling.enabled (gt (int (include "cl.replicas" .)) 1) }}
{{- if and .Values.podDisruptionBudget.enabled $many }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "cl.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "cl.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .Values.podDisruptionBudget.maxUnavailable }}
  unhealthyPodEvictionPolicy: AlwaysAllow
  selector:
    matchLabels:
      {{- include "cl.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end }}

{{/* cl.hpa: autoscaling/v2 on CPU (and memory, and any extra metrics such as a connections gauge through an adapter). */}}
{{- define "cl.hpa" -}}
{{- if .Values.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "cl.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "cl.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: {{ .Values.workload.kind }}
    name: {{ include "cl.fullname" . }}
  minReplicas: {{ .Values.autoscaling.minReplicas }}
  maxReplicas: {{ .Values.autoscaling.maxReplicas }}
  metrics:
    {{- with .Values.autoscaling.targetCPUUtilizationPercentage }}
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ . }}
    {{- end }}
    {{- with .Values.autoscaling.targetMemoryUtilizationPercentage }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ . }}
    {{- end }}
    {{- with .Values.autoscaling.extraMetrics }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.autoscaling.behavior }}
  behavior:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}

{{/* cl.servicemonitor: a Prometheus Operator ServiceMonitor on the ops port. */}}
{{- define "cl.servicemonitor" -}}
{{- $g := include "cl.global" . | fromYaml }}
{{- $gm := $g.serviceMonitor | default dict }}
{{- if or .Values.serviceMonitor.enabled $gm.enabled }}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "cl.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "cl.labels" . | nindent 4 }}
    {{- with ($gm.labels | default .Values.serviceMonitor.labels) }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "cl.selectorLabels" . | nindent 6 }}
  namespaceSelector:
    matchNames:
      - {{ .Release.Namespace }}
  endpoints:
    - port: {{ .Values.serviceMonitor.port }}
      path: {{ .Values.serviceMonitor.path }}
      interval: {{ .Values.serviceMonitor.interval }}
      scrapeTimeout: {{ .Values.serviceMonitor.scrapeTimeout }}
{{- end }}
{{- end }}

{{/*
cl.networkpolicy: only the listed peers reach the pods: the edge proxies on
the public port, Prometheus on the ops port, and networkPolicy.extraIngress
(fanout admits the gateways on gRPC). Egress stays open unless
networkPolicy.egress is given: the brokers and databases are external and
their addresses are the operator's to list.
*/}}
{{- define "cl.networkpolicy" -}}
{{- $g := include "cl.global" . | fromYaml }}
{{- $gn := $g.networkPolicy | default dict }}
{{- if or .Values.networkPolicy.enabled $gn.enabled }}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "cl.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "cl.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "cl.selectorLabels" . | nindent 6 }}
  policyTypes:
    - Ingress
    {{- if .Values.networkPolicy.egress }}
    - Egress
    {{- end }}
  ingress:
    {{- if .Values.networkPolicy.publicPorts }}
    - ports:
        {{- range .Values.networkPolicy.publicPorts }}
        - port: {{ . }}
          protocol: TCP
        {{- end }}
      {{- with $gn.edgePeers }}
      from:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- end }}
    {{- if hasKey .Values.ports "ops" }}
    - ports:
        - port: ops
          protocol: TCP
      {{- with $gn.monitoringPeers }}
      from:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- end }}
    {{- with .Values.networkPolicy.extraIngress }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.networkPolicy.egress }}
  egress:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}
