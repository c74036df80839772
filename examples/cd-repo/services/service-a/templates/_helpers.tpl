{{/*
The image reference: repository@digest when a digest is set (prod), else
repository:tag. Kept on one line where it is used so rendered lines match
template lines and findings point at the template line.
*/}}
{{- define "service-a.image" -}}
{{ .Values.image.repository }}{{ if .Values.image.digest }}@{{ .Values.image.digest }}{{ else }}:{{ .Values.image.tag }}{{ end }}
{{- end -}}
