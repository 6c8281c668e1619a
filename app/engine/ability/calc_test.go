package ability_test

import (
	"strings"
	"testing"

	"parley/app/engine/ability"
)

func TestCalculate(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want string
	}{
		{"Add", "1 + 2", "3"},
		{"Precedence", "2 + 3 * 4", "14"},
		{"Parentheses", "(2 + 3) * 4", "20"},
		{"LeftAssociative", "10 - 4 - 3", "3"},
		{"DivisionLeftAssociative", "100 / 10 / 5", "2"},
		{"Decimal", "10 / 4", "2.5"},
		{"LeadingDot", ".5 * 4", "2"},
		{"Exponent", "1e3 / 8", "125"},
		{"Modulo", "10 % 3", "1"},
		{"ModuloParen", "10 % (2 + 1)", "1"},
		{"PercentOf", "15% of 80", "12"},
		{"PercentOfInSum", "2 + 15% of 80", "14"},
		{"PercentOfCase", "15 % OF 80", "12"},
		{"NegativePercentOf", "-15% of 80", "-12"},
		{"PercentPostfix", "200 * 15%", "30"},
		{"PercentAlone", "50%", "0.5"},
		{"PercentThenMinus", "100 - 10%", "99.9"},
		{"Power", "2 ^ 10", "1024"},
		{"PowerRightAssociative", "2 ^ 3 ^ 2", "512"},
		{"PowerBeforeUnaryMinus", "-2^2", "-4"},
		{"NegativeBase", "(-2)^2", "4"},
		{"NegativeExponent", "2^-1", "0.5"},
		{"StarStar", "2 ** 3", "8"},
		{"UnaryMinus", "-(3 - 5)", "2"},
		{"DoubleMinus", "--3", "3"},
		{"UnaryPlus", "+3 * -2", "-6"},
		{"UnicodeOperators", "3 × 4 ÷ 2 − 1", "5"},
		{"NoTrailingZeros", "2.50 * 2", "5"},
		{"FloatNoise", "0.1 + 0.2", "0.3"},
		{"Repeating", "1 / 3", "0.333333333333"},
		{"SeedExample", "(15 * 12) * 7", "1260"},
		{"SeedMoney", "0.10 * 150", "15"},
		{"Whitespace", "  \t42\n ", "42"},
		{"NegativeZero", "-0 * 1", "0"},
		{"Large", "10 ^ 21", "1000000000000000000000"},
		{"Small", "1 / 10000000", "0.0000001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := ability.Calculate(tt.expr)
			if err != nil {
				t.Fatalf("Calculate(%q): %v", tt.expr, err)
			}
			if got := ability.FormatNumber(v); got != tt.want {
				t.Errorf("Calculate(%q) = %s, want %s", tt.expr, got, tt.want)
			}
		})
	}
}

func TestCalculateErrors(t *testing.T) {
	tests := []struct {
		name    string
		expr    string
		wantErr string
	}{
		{"ErrEmpty", "", "empty"},
		{"ErrBlank", "   ", "empty"},
		{"ErrDivisionByZero", "1 / 0", "division by zero at position 3"},
		{"ErrDivisionByZeroExpr", "1 / (2 - 2)", "division by zero"},
		{"ErrModuloByZero", "5 % 0", "modulo by zero"},
		{"ErrUnclosed", "(1 + 2", `missing ")" for the "(" at position 1`},
		{"ErrUnopened", "1 + 2)", `unexpected ")" at position 6`},
		{"ErrTrailingOperator", "1 +", "ends where a number was expected"},
		{"ErrDoubleOperator", "2 * / 3", `expected a number at position 5, found "/"`},
		{"ErrWord", "abc", `unknown word "abc"`},
		{"ErrCode", "os.Exit(1)", `unknown word "os"`},
		{"ErrOfWithoutPercent", "3 of 4", `"of" at position 3 must follow a percentage`},
		{"ErrTwoDots", "1.2.3", `"1.2.3" at position 1 is not a number`},
		{"ErrDot", ".", "is not a number"},
		{"ErrCharacter", "2 $ 3", `unexpected character "$" at position 3`},
		{"ErrComma", "1,000", `unexpected character ","`},
		{"ErrImplicitMultiply", "2(3)", `unexpected "(" at position 2`},
		{"ErrTooLarge", "10 ^ 400", "too large"},
		{"ErrUndefined", "(-8) ^ 0.5", "undefined"},
		{"ErrTooLong", strings.Repeat("1+", 100) + "1", "201 characters long; at most 200"},
		{"ErrTooDeep", strings.Repeat("-", 150) + "1", "nested too deeply"},
		{"ErrTooDeepParens", strings.Repeat("(", 101) + "1", "nested too deeply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := ability.Calculate(tt.expr)
			if err == nil {
				t.Fatalf("Calculate(%q) = %v, want an error containing %q", tt.expr, v, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Calculate(%q) error = %q, want it to contain %q", tt.expr, err, tt.wantErr)
			}
		})
	}
}

func TestCalculateMaxLength(t *testing.T) {
	expr := strings.Repeat("1+", 99) + "1" // 199 characters
	expr += "0"                            // 200: the limit itself is fine
	v, err := ability.Calculate(expr)
	if err != nil {
		t.Fatalf("Calculate(200 characters): %v", err)
	}
	if got, want := ability.FormatNumber(v), "109"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
