package cfnresource

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type hookProperties struct {
	RoleArn       string   `cfn:"RoleArn,required"`
	AccountID     string   `cfn:"AccountId,required"`
	Enabled       bool     `cfn:"Enabled"`
	RetentionDays int      `cfn:"RetentionDays"`
	Small         int8     `cfn:"Small"`
	Regions       []string `cfn:"Regions"`
	Untagged      string
}

func TestDecodeProperties(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{
			"ServiceToken":   "arn:aws:sns:us-east-1:123456789012:doit-support-hook",
			"ServiceTimeout": "300",
			"RoleArn":        "arn:aws:iam::111122223333:role/DoiT_Management_Role_DO-NOT-DELETE",
			"AccountId":      "111122223333",
		}
	}
	defaults := hookProperties{RetentionDays: 30, Untagged: "kept"}
	tests := map[string]struct {
		edit    func(p map[string]any)
		want    hookProperties // when wantErr is empty
		wantErr string
	}{
		"required only, defaults kept": {
			edit: func(map[string]any) {},
			want: hookProperties{RoleArn: "arn:aws:iam::111122223333:role/DoiT_Management_Role_DO-NOT-DELETE", AccountID: "111122223333", RetentionDays: 30, Untagged: "kept"},
		},
		"every type": {
			edit: func(p map[string]any) {
				p["Enabled"], p["RetentionDays"], p["Small"], p["Regions"] = "true", "14", "-7", []any{"us-east-1", "eu-west-1"}
			},
			want: hookProperties{RoleArn: "arn:aws:iam::111122223333:role/DoiT_Management_Role_DO-NOT-DELETE", AccountID: "111122223333",
				Enabled: true, RetentionDays: 14, Small: -7, Regions: []string{"us-east-1", "eu-west-1"}, Untagged: "kept"},
		},
		"empty optional values count as absent": {
			edit: func(p map[string]any) { p["Enabled"], p["RetentionDays"], p["Regions"] = "", "", []any{} },
			want: hookProperties{RoleArn: "arn:aws:iam::111122223333:role/DoiT_Management_Role_DO-NOT-DELETE", AccountID: "111122223333", RetentionDays: 30, Untagged: "kept"},
		},
		"required missing":       {edit: func(p map[string]any) { delete(p, "RoleArn") }, wantErr: `property "RoleArn": required`},
		"required empty":         {edit: func(p map[string]any) { p["AccountId"] = "" }, wantErr: `property "AccountId": required`},
		"required null":          {edit: func(p map[string]any) { p["AccountId"] = nil }, wantErr: `property "AccountId": want a string, got null`},
		"string given a number":  {edit: func(p map[string]any) { p["AccountId"] = 111122223333.0 }, wantErr: `property "AccountId": want a string, got a number`},
		"string given an object": {edit: func(p map[string]any) { p["RoleArn"] = map[string]any{"Ref": "Role"} }, wantErr: `property "RoleArn": want a string, got an object`},
		"bool True":              {edit: func(p map[string]any) { p["Enabled"] = "True" }, wantErr: `property "Enabled": want "true" or "false", got "True"`},
		"bool yes":               {edit: func(p map[string]any) { p["Enabled"] = "yes" }, wantErr: `property "Enabled": want "true" or "false", got "yes"`},
		"bool as JSON boolean":   {edit: func(p map[string]any) { p["Enabled"] = true }, wantErr: `property "Enabled": want a string, got a boolean`},
		"int with plus sign":     {edit: func(p map[string]any) { p["RetentionDays"] = "+14" }, wantErr: `property "RetentionDays": want a decimal integer, got "+14"`},
		"int with space":         {edit: func(p map[string]any) { p["RetentionDays"] = " 14" }, wantErr: `want a decimal integer, got " 14"`},
		"int in hex":             {edit: func(p map[string]any) { p["RetentionDays"] = "0x1e" }, wantErr: `want a decimal integer, got "0x1e"`},
		"int as float":           {edit: func(p map[string]any) { p["RetentionDays"] = "1.5" }, wantErr: `want a decimal integer, got "1.5"`},
		"int just a minus":       {edit: func(p map[string]any) { p["RetentionDays"] = "-" }, wantErr: `want a decimal integer, got "-"`},
		"int as JSON number":     {edit: func(p map[string]any) { p["RetentionDays"] = 14.0 }, wantErr: `property "RetentionDays": want a string, got a number`},
		"int8 out of range":      {edit: func(p map[string]any) { p["Small"] = "300" }, wantErr: `property "Small": "300" is out of range for a 8-bit integer`},
		"list given a string":    {edit: func(p map[string]any) { p["Regions"] = "us-east-1" }, wantErr: `property "Regions": want a list of strings, got a string`},
		"list with a number":     {edit: func(p map[string]any) { p["Regions"] = []any{"us-east-1", 3.0} }, wantErr: `property "Regions": item 1: want a string, got a number`},
		"unknown property":       {edit: func(p map[string]any) { p["RoleARN"] = "x" }, wantErr: `property "RoleARN": unknown`},
		"string over 4096 bytes": {edit: func(p map[string]any) { p["RoleArn"] = strings.Repeat("a", 4097) }, wantErr: `property "RoleArn": value is 4097 bytes, at most 4096`},
		"string of 4096 bytes":   {edit: func(p map[string]any) { p["RoleArn"] = strings.Repeat("a", 4096) }},
		"list item over 4096":    {edit: func(p map[string]any) { p["Regions"] = []any{strings.Repeat("a", 4097)} }, wantErr: `property "Regions": item 0: value is 4097 bytes`},
		"ServiceToken over 4096": {edit: func(p map[string]any) { p["ServiceToken"] = strings.Repeat("a", 4097) }, wantErr: `property "ServiceToken": value is 4097 bytes`},
		"name over 4096 bytes":   {edit: func(p map[string]any) { p[strings.Repeat("N", 4097)] = "x" }, wantErr: `property "` + strings.Repeat("N", 64) + `"…: name is 4097 bytes`},
		"65 properties": {edit: func(p map[string]any) {
			for i := range 61 {
				p[fmt.Sprintf("Extra%02d", i)] = "x"
			}
		}, wantErr: "too many properties: 65, at most 64"},
		"every problem, sorted by name": {
			edit:    func(p map[string]any) { delete(p, "RoleArn"); p["Enabled"] = "1"; p["Zebra"] = "z" },
			wantErr: `property "Enabled": want "true" or "false", got "1"; property "RoleArn": required; property "Zebra": unknown`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			props := base()
			tc.edit(props)
			got := defaults
			err := DecodeProperties(props, &got)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.Equal(t, defaults, got, "the destination is left untouched on error")
				return
			}
			require.NoError(t, err)
			if tc.want.RoleArn != "" {
				assert.Equal(t, tc.want, got)
			}
		})
	}
}

func TestDecodePropertiesFromFixture(t *testing.T) {
	e := fixtureEvent(t, "create", "")
	var p struct {
		RoleArn         string `cfn:"RoleArn,required"`
		AccountID       string `cfn:"AccountId,required"`
		ExternalID      string `cfn:"ExternalId,required"`
		BoundaryArn     string `cfn:"BoundaryArn"`
		TemplateVersion int    `cfn:"TemplateVersion"`
	}
	require.NoError(t, DecodeProperties(e.ResourceProperties, &p))
	assert.Equal(t, "111122223333", p.AccountID)
	assert.Equal(t, 2, p.TemplateVersion)
}

func TestDecodePropertiesServiceTimeoutMayBeTagged(t *testing.T) {
	var p struct {
		Timeout int `cfn:"ServiceTimeout"`
	}
	require.NoError(t, DecodeProperties(map[string]any{"ServiceToken": "arn:t", "ServiceTimeout": "300"}, &p))
	assert.Equal(t, 300, p.Timeout)
}

func TestDecodePropertiesBadDestination(t *testing.T) {
	var notStruct int
	var nilPtr *hookProperties
	tests := map[string]struct {
		dst  any
		want string
	}{
		"not a pointer":         {hookProperties{}, "want a non-nil pointer to a struct, got cfnresource.hookProperties"},
		"nil pointer":           {nilPtr, "want a non-nil pointer to a struct"},
		"pointer to non-struct": {&notStruct, "want a non-nil pointer to a struct, got *int"},
		"unsupported type": {&struct {
			F float64 `cfn:"F"`
		}{}, "field F: unsupported type float64"},
		"list of ints": {&struct {
			F []int `cfn:"F"`
		}{}, "field F: unsupported type []int"},
		"unknown option": {&struct {
			F string `cfn:"F,omitempty"`
		}{}, `field F: unknown cfn tag option "omitempty"`},
		"empty name": {&struct {
			F string `cfn:",required"`
		}{}, "field F: empty cfn tag name"},
		"unexported": {&struct {
			f string `cfn:"F"`
		}{}, "field f: tagged but not exported"},
		"tagged twice": {&struct {
			A string `cfn:"F"`
			B string `cfn:"F"`
		}{}, `field B: property "F" is tagged twice`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := DecodeProperties(map[string]any{}, tc.dst)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
