{{/* Names and labels shared by every object of the release. */}}
{{- define "intake.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "intake.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "intake.labels" -}}
{{ include "intake.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* A StatefulSet when the spool is on a persistent volume claim per pod, else a Deployment. */}}
{{- define "intake.statefulSet" -}}
{{- if and .Values.spool.enabled (eq .Values.spool.volume "persistentVolumeClaim") -}}true{{- end -}}
{{- end -}}

{{- define "intake.kind" -}}
{{- if include "intake.statefulSet" . -}}StatefulSet{{- else -}}Deployment{{- end -}}
{{- end -}}

{{/* intake's config file: the user's keys, then the ones the chart owns. */}}
{{- define "intake.config" -}}
{{- $c := deepCopy .Values.config -}}
{{- $_ := set $c "listen" "0.0.0.0:8192" -}}
{{- $_ := set $c "shutdown_timeout" (printf "%ds" (int .Values.shutdownTimeoutSeconds)) -}}
{{- if .Values.streamConfigURL -}}
{{- $_ := set $c "stream_config" .Values.streamConfigURL -}}
{{- else -}}
{{- $_ := set $c "stream_config" "/etc/intake/streams/stream-config.json" -}}
{{- end -}}
{{- if .Values.spool.enabled -}}
{{- $_ := set $c "spool_dir" "/var/lib/intake/spool" -}}
{{- $_ := set $c "spool_max_bytes" (int64 .Values.spool.maxBytes) -}}
{{- $_ := set $c "spool_fsync" .Values.spool.fsync -}}
{{- end -}}
{{- toYaml $c -}}
{{- end -}}
