package registry

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TenantAccounts reads every account with a record that names tenant, as its tenant (a pending
// onboarding, a registration, one that ended) or as the tenant of a gateway claim waiting for its
// proof (ClaimTenant), and returns each account's whole state (Account), sorted by account ID.
//
// The state holds every record of the account, other tenants' included: what a tenant may see of
// it is the caller's rule, not the registry's.
//
// The table has no index by tenant, so this is a filtered Scan, as ListByStatus: its cost grows with
// the whole table, not with the tenant's accounts. That is fine for a console page at today's
// sizes; a global secondary index on Tenant is the way out when it is not.
func (r *Registry) TenantAccounts(ctx context.Context, tenant string) ([]AccountState, error) {
	if tenant == "" {
		return nil, fmt.Errorf("listing a tenant's accounts: the tenant is empty")
	}
	named := expression.Name("Tenant").Equal(expression.Value(tenant)).
		Or(expression.Name("ClaimTenant").Equal(expression.Value(tenant)))
	filter, err := expression.NewBuilder().WithFilter(named.
		And(expression.Name(attrPK).BeginsWith(accountPK(""))).
		And(expression.Name(attrSK).In(expression.Value(Management), expression.Value(Gateway)))).Build()
	if err != nil {
		return nil, fmt.Errorf("building the filter of tenant %s's accounts: %w", tenant, err)
	}
	var accounts []string
	err = r.scan(ctx, filter, func(items []map[string]types.AttributeValue) error {
		for _, item := range items {
			pk, _ := item[attrPK].(*types.AttributeValueMemberS)
			if pk == nil {
				continue
			}
			if a, ok := strings.CutPrefix(pk.Value, accountPK("")); ok && !slices.Contains(accounts, a) {
				accounts = append(accounts, a)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing tenant %s's accounts: %w", tenant, err)
	}
	slices.Sort(accounts)
	out := make([]AccountState, 0, len(accounts))
	for _, a := range accounts {
		st, err := r.Account(ctx, a)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}
