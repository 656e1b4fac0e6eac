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

{{/*
campaign-live.alertMeta: the for and labels of one alert of
monitoring.alerts; call with (list $alerts "fanoutLag"). The alert's
severity wins over a severity in alertLabels.
*/}}
{{- define "campaign-live.alertMeta" -}}
{{- $alerts := index . 0 }}
{{- $a := index $alerts (index . 1) -}}
for: {{ $a.for }}
labels:
  {{- merge (dict "severity" $a.severity) ($alerts.alertLabels | default dict) | toYaml | nindent 2 }}
{{- end }}
