{{- define "cdgate-webhook.fullname" -}}
{{- printf "%s" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cdgate-webhook.selectorLabels" -}}
app.kubernetes.io/name: cdgate-webhook
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "cdgate-webhook.labels" -}}
{{ include "cdgate-webhook.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "cdgate-webhook.budget" -}}
{{- sub (int .Values.webhook.timeoutSeconds) 2 -}}
{{- end -}}
