{{/*
cl.workload: the service's Deployment, or its StatefulSet when
workload.kind is StatefulSet (fanout: stable pod names for the gateways).

Shutdown, in order: the pod is marked terminating and leaves the Service's
endpoints; preStop sleeps shutdown.preStopSleepSeconds so that proxies and
kube-proxy stop sending new connections before the process hears anything;
then SIGTERM, and the service drains within shutdown.drainSeconds (written
to the variable it reads, shutdown.env). terminationGracePeriodSeconds covers
both, with a margin; cl.validate refuses a value that does not.
The preStop action is the kubelet's own sleep (no shell in a distroless image).
*/}}
{{- define "cl.workload" -}}
{{- include "cl.validate" . }}
{{- $sts := eq .Values.workload.kind "StatefulSet" }}
---
apiVersion: apps/v1
kind: {{ .Values.workload.kind }}
metadata:
  name: {{ include "cl.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "cl.labels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ include "cl.replicas" . }}
  {{- end }}
  revisionHistoryLimit: {{ .Values.revisionHistoryLimit }}
  selector:
    matchLabels:
      {{- include "cl.selectorLabels" . | nindent 6 }}
  {{- if $sts }}
  serviceName: {{ include "cl.fullname" . }}-headless
  podManagementPolicy: Parallel
  updateStrategy:
    type: RollingUpdate
  {{- else }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: {{ .Values.workload.maxUnavailable }}
      maxSurge: {{ .Values.workload.maxSurge }}
  {{- end }}
  template:
    metadata:
      labels:
        {{- include "cl.labels" . | nindent 8 }}
        {{- with .Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        checksum/config: {{ include "cl.checksum" . }}
        {{- with .Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "cl.serviceAccountName" . }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      {{- $g := include "cl.global" . | fromYaml }}
      {{- with (.Values.imagePullSecrets | default $g.imagePullSecrets) }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      securityContext:
        {{- toYaml .Values.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
      containers:
        - name: {{ .Chart.Name }}
          image: {{ include "cl.image" . | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          ports:
            {{- range $name, $port := .Values.ports }}
            - name: {{ $name }}
              containerPort: {{ $port }}
              protocol: TCP
            {{- end }}
          envFrom:
            - configMapRef:
                name: {{ include "cl.fullname" . }}
          {{- $secretEnv := include "cl.secretEnv" . }}
          {{- if or $secretEnv .Values.extraEnv }}
          env:
            {{- with $secretEnv }}
            {{- . | trim | nindent 12 }}
            {{- end }}
            {{- with .Values.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          {{- end }}
          {{- with .Values.probes }}
          startupProbe:
            httpGet:
              path: {{ .startup.path }}
              port: {{ .port }}
            periodSeconds: {{ .startup.periodSeconds }}
            timeoutSeconds: {{ .startup.timeoutSeconds }}
            failureThreshold: {{ .startup.failureThreshold }}
          readinessProbe:
            httpGet:
              path: {{ .readiness.path }}
              port: {{ .port }}
            periodSeconds: {{ .readiness.periodSeconds }}
            timeoutSeconds: {{ .readiness.timeoutSeconds }}
            failureThreshold: {{ .readiness.failureThreshold }}
            successThreshold: 1
          livenessProbe:
            httpGet:
              path: {{ .liveness.path }}
              port: {{ .port }}
            periodSeconds: {{ .liveness.periodSeconds }}
            timeoutSeconds: {{ .liveness.timeoutSeconds }}
            failureThreshold: {{ .liveness.failureThreshold }}
          {{- end }}
          {{- if gt (int .Values.shutdown.preStopSleepSeconds) 0 }}
          lifecycle:
            preStop:
              sleep:
                seconds: {{ .Values.shutdown.preStopSleepSeconds }}
          {{- end }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          securityContext:
            {{- toYaml .Values.securityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- with .Values.extraVolumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: {{ .Values.tmpSizeLimit }}
        {{- with .Values.extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      affinity:
        {{- if .Values.affinity }}
        {{- toYaml .Values.affinity | nindent 8 }}
        {{- else }}
        {{- /* Spread the pods over nodes: one node's loss or drain takes one pod, not all. */}}
        podAntiAffinity:
          {{- if eq .Values.podAntiAffinity "hard" }}
          requiredDuringSchedulingIgnoredDuringExecution:
            - topologyKey: kubernetes.io/hostname
              labelSelector:
                matchLabels:
                  {{- include "cl.selectorLabels" . | nindent 18 }}
          {{- else }}
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              podAffinityTerm:
                topologyKey: kubernetes.io/hostname
                labelSelector:
                  matchLabels:
                    {{- include "cl.selectorLabels" . | nindent 20 }}
          {{- end }}
        {{- end }}
      {{- if .Values.topologySpread.enabled }}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: {{ .Values.topologySpread.topologyKey }}
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "cl.selectorLabels" . | nindent 14 }}
      {{- end }}
{{- end }}

{{- define "cl.serviceaccount" -}}
{{- if .Values.serviceAccount.create }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "cl.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "cl.labels" . | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: false
{{- end }}
{{- end }}
