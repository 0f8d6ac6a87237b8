package policy

import "slices"

// ManagementTrust is the management role's trust policy: only the vendor's backend role, and only
// when it presents this customer's ExternalId (AWS's confused-deputy defence). vendorAccount is the
// vendor's account ID ("${AccountNumberParameter}" in the template).
func (v Vendor) ManagementTrust(t Target, vendorAccount, externalID string) Document {
	backend := "arn:" + t.Partition + ":iam::" + vendorAccount + ":role/" + v.BackendRoleName
	return NewDocument(Statement{
		Sid:       "VendorBackendWithExternalId",
		Effect:    Allow,
		Principal: &Principal{AWS: Strings{backend}},
		Action:    Strings{"sts:AssumeRole"},
		Condition: Condition{"StringEquals": {"sts:ExternalId": {externalID}}},
	})
}

// Actions the provisioner needs on each kind of resource it owns. Every one of them is granted on
// exact ARNs only; none needs Resource "*".
var (
	// Wrong client IDs are repaired by recreating the provider, so no Add/RemoveClientID.
	providerActions = Strings{
		"iam:CreateOpenIDConnectProvider",
		"iam:GetOpenIDConnectProvider",
		"iam:DeleteOpenIDConnectProvider",
		"iam:UpdateOpenIDConnectProviderThumbprint",
		"iam:ListOpenIDConnectProviderTags",
	}
	// roleActions change or remove the role without adding permissions to it.
	roleActions = Strings{
		"iam:GetRole",
		"iam:DeleteRole",
		"iam:UpdateRole",
		"iam:UpdateRoleDescription",
		"iam:UpdateAssumeRolePolicy",
		"iam:ListRoleTags",
		"iam:ListAttachedRolePolicies",
		"iam:DetachRolePolicy",
		"iam:ListRolePolicies",
		"iam:GetRolePolicy",
		"iam:DeleteRolePolicy",
	}
	// boundedRoleActions are allowed only when the request carries the customer's boundary.
	boundedRoleActions = Strings{"iam:CreateRole", "iam:PutRolePermissionsBoundary"}
	policyActions      = Strings{
		"iam:CreatePolicy",
		"iam:GetPolicy",
		"iam:DeletePolicy",
		"iam:CreatePolicyVersion",
		"iam:GetPolicyVersion",
		"iam:DeletePolicyVersion",
		"iam:ListPolicyVersions",
		"iam:SetDefaultPolicyVersion",
		"iam:ListPolicyTags",
		"iam:ListEntitiesForPolicy",
	}
	// grantingRoleActions are every action that can add permissions to a role or create one; each is
	// denied outright unless the request carries the customer's boundary.
	grantingRoleActions = Strings{"iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:AttachRolePolicy"}
	// taggingActions set or remove tags on the vendor's own resources; allowed for the vendor's tag
	// keys only (aws:TagKeys). IAM authorizes tags given with a Create call through the same key.
	taggingActions = Strings{
		"iam:TagRole", "iam:UntagRole",
		"iam:TagPolicy", "iam:UntagPolicy",
		"iam:TagOpenIDConnectProvider", "iam:UntagOpenIDConnectProvider",
	}
	// taggedCreateActions are the creating actions that can carry tags.
	taggedCreateActions = Strings{"iam:CreateRole", "iam:CreatePolicy", "iam:CreateOpenIDConnectProvider"}
)

// ManagementPolicy is the management role's policy (CustomerPolicy in the template). It lets the
// vendor manage exactly its two identity providers, its support role and its one policy in this
// account, and nothing else:
//   - the role can be created, re-bounded or given a policy only with the customer's boundary;
//   - no inline policy can be written;
//   - only allow-listed policies can be attached;
//   - the boundary and the management role itself cannot be touched;
//   - tags only with the vendor's own keys (a role's tags are its sessions' aws:PrincipalTag, which
//     the customer's ABAC policies may trust);
//   - no role can be passed or assumed from the management role's sessions.
//
// The explicit denies repeat the limits of the allows so they hold even if someone attaches a
// broader policy to the management role later.
func (v Vendor) ManagementPolicy(t Target) Document {
	boundary := Condition{"StringEquals": {"iam:PermissionsBoundary": {v.BoundaryARN(t)}}}
	return NewDocument(
		Statement{
			Sid:      "ManageOwnIdentityProviders",
			Effect:   Allow,
			Action:   providerActions,
			Resource: v.ProviderARNs(t),
		},
		Statement{
			Sid:      "ManageOwnSupportRole",
			Effect:   Allow,
			Action:   roleActions,
			Resource: Strings{v.SupportRoleARN(t)},
		},
		Statement{
			Sid:       "CreateSupportRoleOnlyWithBoundary",
			Effect:    Allow,
			Action:    boundedRoleActions,
			Resource:  Strings{v.SupportRoleARN(t)},
			Condition: boundary,
		},
		Statement{
			Sid:      "AttachOnlyAllowListedPolicies",
			Effect:   Allow,
			Action:   Strings{"iam:AttachRolePolicy"},
			Resource: Strings{v.SupportRoleARN(t)},
			Condition: Condition{
				"StringEquals": {"iam:PermissionsBoundary": {v.BoundaryARN(t)}},
				"ArnEquals":    {"iam:PolicyARN": v.AttachAllowList(t)},
			},
		},
		Statement{
			Sid:      "ManageOwnSupportPolicy",
			Effect:   Allow,
			Action:   policyActions,
			Resource: Strings{v.SupportPolicyARN(t)},
		},
		Statement{
			Sid:       "TagOwnResourcesWithVendorKeysOnly",
			Effect:    Allow,
			Action:    taggingActions,
			Resource:  append(Strings{v.SupportRoleARN(t), v.SupportPolicyARN(t)}, v.ProviderARNs(t)...),
			Condition: Condition{"ForAllValues:StringEquals": {"aws:TagKeys": v.ResourceTagKeys()}},
		},
		Statement{
			Sid:       "DenyGrantingWithoutBoundary",
			Effect:    Deny,
			Action:    grantingRoleActions,
			Resource:  Strings{"*"},
			Condition: Condition{"StringNotEquals": {"iam:PermissionsBoundary": {v.BoundaryARN(t)}}},
		},
		Statement{
			Sid:       "DenyAttachingOffAllowList",
			Effect:    Deny,
			Action:    Strings{"iam:AttachRolePolicy"},
			Resource:  Strings{"*"},
			Condition: Condition{"ArnNotEquals": {"iam:PolicyARN": v.AttachAllowList(t)}},
		},
		Statement{
			// The provisioner writes no inline policy: an inline policy is the one kind of grant the
			// attach allow-list cannot see.
			Sid:      "DenyInlinePoliciesAndBoundaryRemoval",
			Effect:   Deny,
			Action:   Strings{"iam:DeleteRolePermissionsBoundary", "iam:PutRolePolicy"},
			Resource: Strings{"*"},
		},
		Statement{
			Sid:      "DenyTouchingBoundaryAndManagementRole",
			Effect:   Deny,
			Action:   Strings{"iam:*"},
			Resource: Strings{v.BoundaryARN(t), v.ManagementRoleARN(t)},
		},
		Statement{
			// aws:TagKeys is absent from a request without tags: ForAnyValue is then false, so an
			// untagged Create is not denied here (the allows above decide it).
			Sid:       "DenyTagKeysNotTheVendors",
			Effect:    Deny,
			Action:    append(slices.Clone(taggingActions), taggedCreateActions...),
			Resource:  Strings{"*"},
			Condition: Condition{"ForAnyValue:StringNotEquals": {"aws:TagKeys": v.ResourceTagKeys()}},
		},
		Statement{
			Sid:      "DenyPassingOrAssumingRoles",
			Effect:   Deny,
			Action:   Strings{"iam:PassRole", "sts:AssumeRole"},
			Resource: Strings{"*"},
		},
	)
}
