{{- define "campaign-live.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: campaign-live
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: campaign-live
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* campaign-live.hookPod: the pod settings of a bootstrap Job: non-root, read-only root, nothing mounted but /tmp. */}}
{{- define "campaign-live.hookSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop:
    - ALL
{{- end }}
