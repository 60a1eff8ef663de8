{{/* Names and labels, as `helm create` writes them. */}}
{{- define "sovr.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sovr.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "sovr.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sovr.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sovr.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sovr.labels" -}}
helm.sh/chart: {{ include "sovr.chart" . }}
{{ include "sovr.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "sovr.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sovr.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding DATABASE_URL (the chart's own unless database.existingSecret). */}}
{{- define "sovr.databaseSecret" -}}
{{- if .Values.database.existingSecret }}{{ .Values.database.existingSecret }}{{ else }}{{ include "sovr.fullname" . }}{{ end }}
{{- end }}

{{- define "sovr.masterKeySecret" -}}
{{- if .Values.masterKey.existingSecret }}{{ .Values.masterKey.existingSecret }}{{ else }}{{ include "sovr.fullname" . }}{{ end }}
{{- end }}

{{- define "sovr.signingKeysSecret" -}}
{{- if .Values.signingKeys.existingSecret }}{{ .Values.signingKeys.existingSecret }}{{ else }}{{ include "sovr.fullname" . }}-signing-keys{{ end }}
{{- end }}

{{/* Fail closed: no database or no shared signing key is a broken fleet, not a default. */}}
{{- define "sovr.validate" -}}
{{- if not (or .Values.database.url .Values.database.existingSecret) }}
{{- fail "sovr: set database.url or database.existingSecret (PostgreSQL: every replica appends to one signed log)" }}
{{- end }}
{{- if not (or .Values.signingKeys.existingSecret .Values.signingKeys.files) }}
{{- fail "sovr: set signingKeys.existingSecret or signingKeys.files (one record-signing key shared by every replica; SOVR_KEYS_DIR=./keys sovr keys generate)" }}
{{- end }}
{{- end }}
