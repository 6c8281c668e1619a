package models_test

import (
	"testing"

	"parley/models"
)

func TestPageNormalize(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   models.Page
		want models.Page
	}{
		{"Defaults", models.Page{}, models.Page{Limit: models.DefaultPageSize, Order: models.OrderDesc}},
		{"Kept", models.Page{Cursor: "c", Limit: 10, Order: models.OrderAsc}, models.Page{Cursor: "c", Limit: 10, Order: models.OrderAsc}},
		{"Desc", models.Page{Limit: 1, Order: models.OrderDesc}, models.Page{Limit: 1, Order: models.OrderDesc}},
		{"NegativeLimit", models.Page{Limit: -1}, models.Page{Limit: models.DefaultPageSize, Order: models.OrderDesc}},
		{"MaxLimit", models.Page{Limit: models.MaxPageSize}, models.Page{Limit: models.MaxPageSize, Order: models.OrderDesc}},
		{"LimitClamped", models.Page{Limit: models.MaxPageSize + 1}, models.Page{Limit: models.MaxPageSize, Order: models.OrderDesc}},
		{"HugeLimitClamped", models.Page{Limit: 1 << 40}, models.Page{Limit: models.MaxPageSize, Order: models.OrderDesc}},
		{"UnknownOrder", models.Page{Limit: 5, Order: "random"}, models.Page{Limit: 5, Order: models.OrderDesc}},
		{"InjectedOrder", models.Page{Order: "asc; DROP TABLE bots"}, models.Page{Limit: models.DefaultPageSize, Order: models.OrderDesc}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.in.Normalize(); got != tc.want {
				t.Errorf("Normalize(%+v) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}
