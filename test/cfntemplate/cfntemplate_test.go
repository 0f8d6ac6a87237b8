package cfntemplate

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResolve(t *testing.T) {
	vars := map[string]string{"AWS::AccountId": "111122223333", "ExternalId": "e", "Role.Arn": "arn:r"}
	got, err := Resolve(map[string]any{
		"a": map[string]any{"Fn::Sub": "arn:${AWS::AccountId}:${ExternalId}"},
		"b": []any{map[string]any{"Ref": "ExternalId"}, map[string]any{"Fn::GetAtt": []any{"Role", "Arn"}}},
		"c": 300,
	}, vars)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"a": "arn:111122223333:e", "b": []any{"e", "arn:r"}, "c": 300}, got)

	for name, v := range map[string]any{
		"unknown ref":       map[string]any{"Ref": "Nope"},
		"unknown sub var":   map[string]any{"Fn::Sub": "${Nope}"},
		"unsupported":       map[string]any{"Fn::Select": []any{0, []any{1}}},
		"unknown condition": map[string]any{"Fn::If": []any{"c", 1, 2}},
		"malformed if":      map[string]any{"Fn::If": []any{"c", 1}},
		"empty if":          map[string]any{"Fn::If": []any{}},
		"malformed get-att": map[string]any{"Fn::GetAtt": "Role.Arn"},
	} {
		_, err := Resolve(v, vars)
		assert.Error(t, err, name)
	}
	assert.Equal(t, map[string]any{"n": "300", "b": "true", "l": []any{"x", "1.5"}},
		Stringify(map[string]any{"n": 300, "b": true, "l": []any{"x", 1.5}}))
}

func TestConditions(t *testing.T) {
	tpl := Template{"Conditions": map[string]any{
		"On": map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "Flag"}, "true"}},
	}}
	vars, err := tpl.WithConditions(map[string]string{"Flag": "true"})
	require.NoError(t, err)
	v := map[string]any{"list": []any{"a", map[string]any{"Fn::If": []any{"On", "b", map[string]any{"Ref": "AWS::NoValue"}}}},
		"prop": map[string]any{"Fn::If": []any{"On", map[string]any{"Ref": "AWS::NoValue"}, "off"}}}
	got, err := Resolve(v, vars)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"list": []any{"a", "b"}}, got, "true: b kept, prop dropped")
	vars, err = tpl.WithConditions(map[string]string{"Flag": "false"})
	require.NoError(t, err)
	got, err = Resolve(v, vars)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"list": []any{"a"}, "prop": "off"}, got)

	_, err = Template{"Conditions": map[string]any{"X": map[string]any{"Fn::Not": []any{}}}}.WithConditions(nil)
	assert.Error(t, err, "only Fn::Equals")
}

func TestLoadCommittedTemplate(t *testing.T) {
	tpl, err := Load("../../templates/management-role.yaml")
	require.NoError(t, err)
	props, err := tpl.Properties("SupportBoundary")
	require.NoError(t, err)
	assert.Equal(t, "DoiT_Support_Boundary_DO-NOT-DELETE", props["ManagedPolicyName"])
	_, err = tpl.Properties("Nope")
	assert.Error(t, err)
}
