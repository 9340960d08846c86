package checklist

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"strings"

	"github.com/migration-guard/migration-guard/analyzer"
)

// SARIF 2.1.0, the subset GitHub code scanning reads.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string            `json:"id"`
	Name                 string            `json:"name"`
	ShortDescription     sarifText         `json:"shortDescription"`
	FullDescription      sarifText         `json:"fullDescription"`
	Help                 sarifHelp         `json:"help"`
	DefaultConfiguration sarifRuleConfig   `json:"defaultConfiguration"`
	Properties           sarifRuleProperty `json:"properties"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifHelp struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifRuleProperty struct {
	Tags     []string `json:"tags"`
	Question int      `json:"question"`
	// GitHub code scanning orders alerts by this: 0.0 to 10.0.
	SecuritySeverity string `json:"security-severity,omitempty"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Suppressions        []sarifSuppress   `json:"suppressions,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
	EndLine     int `json:"endLine,omitempty"`
	EndColumn   int `json:"endColumn,omitempty"`
}

type sarifSuppress struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification"`
}

func sarifLevel(s analyzer.Severity) string {
	switch s {
	case analyzer.Danger:
		return "error"
	case analyzer.Warning:
		return "warning"
	}
	return "note"
}

// WriteSARIF writes the report as SARIF 2.1.0 for GitHub code scanning:
// every rule with its help text, every finding with a 1-based region.
func WriteSARIF(w io.Writer, r *analyzer.Report, version string) error {
	rules := analyzer.Rules()
	index := map[string]int{}
	driver := sarifDriver{Name: "migration-guard", Version: version, InformationURI: "https://github.com/migration-guard/migration-guard"}
	for i, rule := range rules {
		index[rule.ID] = i
		sev := map[analyzer.Severity]string{analyzer.Danger: "8.0", analyzer.Warning: "5.0", analyzer.Info: "2.0"}[rule.Severity]
		driver.Rules = append(driver.Rules, sarifRule{
			ID: rule.ID, Name: ruleName(rule.ID),
			ShortDescription:     sarifText{Text: rule.Title},
			FullDescription:      sarifText{Text: rule.Why},
			Help:                 sarifHelp{Text: rule.Why + "\n\nSafe way:\n" + rule.Safe, Markdown: RulePage(rule)},
			DefaultConfiguration: sarifRuleConfig{Level: sarifLevel(rule.Severity)},
			Properties:           sarifRuleProperty{Tags: []string{"migration", "postgresql", strings.ToLower(rule.Question.Short())}, Question: int(rule.Question), SecuritySeverity: sev},
		})
	}
	run := sarifRun{Tool: sarifTool{Driver: driver}, Results: []sarifResult{}}
	for _, l := range r.AllFindings() {
		f := l.Finding
		path := l.File.Path
		region := sarifRegion{StartLine: max(f.Marker.Line, 1), StartColumn: max(f.Marker.Column, 1)}
		if l.Statement != nil {
			path = l.Statement.Path
			region = sarifRegion{StartLine: l.Statement.Start.Line, StartColumn: l.Statement.Start.Column, EndLine: l.Statement.End.Line, EndColumn: l.Statement.End.Column}
		}
		text := f.Message
		if f.SafeAlternative != "" {
			text += "\n\nSafe way:\n" + f.SafeAlternative
		}
		res := sarifResult{
			RuleID: f.Rule, RuleIndex: index[f.Rule], Level: sarifLevel(f.Severity),
			Message:   sarifText{Text: text},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: path}, Region: region}}},
			// The statement's text, not its line, identifies the alert, so
			// that an alert survives lines added above it.
			PartialFingerprints: map[string]string{"migrationGuard/v1": fingerprint(f.Rule, path, statementText(l))},
		}
		if f.Suppressed != nil {
			res.Suppressions = []sarifSuppress{{Kind: "inSource", Justification: f.Suppressed.Reason}}
		}
		run.Results = append(run.Results, res)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}

func statementText(l analyzer.Located) string {
	if l.Statement != nil {
		return l.Statement.SQL
	}
	return l.Finding.Message
}

func fingerprint(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// ruleName turns drop-column into DropColumn, SARIF's convention for names.
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.Split(id, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}
