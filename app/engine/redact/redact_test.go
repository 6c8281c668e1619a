package redact

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

type redactCase struct {
	name, in, want string
	counts         map[Kind]int
}

func runCases(t *testing.T, cases []redactCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Text(c.in)
			if got.Text != c.want {
				t.Errorf("Text(%q)\n got %q\nwant %q", c.in, got.Text, c.want)
			}
			want := c.counts
			if want == nil {
				want = map[Kind]int{}
			}
			if diff := cmp.Diff(want, got.Counts); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEmails(t *testing.T) {
	one := map[Kind]int{Email: 1}
	runCases(t, []redactCase{
		{"Plain", "my email is jane.doe@example.com", "my email is [email]", one},
		{"EndOfSentence", "Write to jane@example.co.uk.", "Write to [email].", one},
		{"PlusTag", "use j.doe+support@mail.example.org, thanks", "use [email], thanks", one},
		{"Uppercase", "JANE_DOE@EXAMPLE.COM", "[email]", one},
		{"InBrackets", "Contact: <ops-team@company.io>", "Contact: <[email]>", one},
		{"Unicode", "écrivez à élodie@exemple.fr", "écrivez à [email]", one},
		{"AfterMailto", "mailto:bob@example.com", "mailto:[email]", one},
		{"Two", "a@b.de and c.d@e-f.com", "[email] and [email]", map[Kind]int{Email: 2}},
		{"NotAMention", "ask @support on the forum", "ask @support on the forum", nil},
		{"NotLocalhost", "root@localhost is the admin", "root@localhost is the admin", nil},
		{"NotDecorator", "use @Override in Java", "use @Override in Java", nil},
	})
}

func TestPhones(t *testing.T) {
	one := map[Kind]int{Phone: 1}
	runCases(t, []redactCase{
		{"UK", "call me on +44 20 7946 0958 please", "call me on [phone] please", one},
		{"UKTrunkInParens", "+44 (0)20 7946 0958", "[phone]", one},
		{"UKNational", "ring 020 7946 0958 after six", "ring [phone] after six", one},
		{"UKMobile", "mobile: 07700 900123", "mobile: [phone]", one},
		{"UKMobileOneRun", "text 07700900123", "text [phone]", one},
		{"USParens", "my number is (212) 555-0123.", "my number is [phone].", one},
		{"USDashes", "212-555-0123", "[phone]", one},
		{"USDots", "call 212.555.0123 now", "call [phone] now", one},
		{"USSpaces", "212 555 0123", "[phone]", one},
		{"USInternational", "+1 (212) 555-0123", "[phone]", one},
		{"USWithOne", "1-800-555-0199", "[phone]", one},
		{"USPlusDashes", "+1-212-555-0123", "[phone]", one},
		{"Germany", "Tel. +49 30 12345678", "Tel. [phone]", one},
		{"Germany00", "0049 30 12345678", "[phone]", one},
		{"Germany00Compact", "0049301234567", "[phone]", one},
		{"GermanyNational", "030 12345678", "[phone]", one},
		{"GermanySlash", "0171/1234567", "[phone]", one},
		{"GermanyDashes", "030-123-456-78", "[phone]", one},
		{"GermanyAreaParens", "(030) 12345678", "[phone]", one},
		{"France", "+33 1 23 45 67 89", "[phone]", one},
		{"FranceDots", "01.23.45.67.89", "[phone]", one},
		{"FranceSpaces", "appelez le 06 12 34 56 78", "appelez le [phone]", one},
		{"Japan", "+81-3-1234-5678", "[phone]", one},
		{"PlusCompact", "+4930123456", "[phone]", one},
		{"Two", "+44 20 7946 0958 or 030 12345678", "[phone] or [phone]", map[Kind]int{Phone: 2}},
		{"TwoSideBySide", "020 7946 0958, 0171 1234567", "[phone], [phone]", map[Kind]int{Phone: 2}},
		{"Freephone", "0800 123 4567", "[phone]", one},
		{"Colon", "Phone:+49 30 12345678", "Phone:[phone]", one},
		{"CountryCodeInParens", "Phone (+44) 20 7946 0958", "Phone [phone]", one},
		{"TrunkInParensNational", "tel: (0)30 12345678", "tel: [phone]", one},
		{"GermanySpacedSlash", "+49 (0) 30 / 12 34 56 78", "[phone]", one},
		{"AfterIBAN", "IBAN DE89 3704 0044 0532 0130 00 0171 1234567", "IBAN [iban] [phone]", map[Kind]int{IBAN: 1, Phone: 1}},
	})
}

func TestCards(t *testing.T) {
	one := map[Kind]int{Card: 1}
	runCases(t, []redactCase{
		{"VisaSpaces", "card 4111 1111 1111 1111 exp 12/27", "card [card] exp 12/27", one},
		{"VisaDashes", "4111-1111-1111-1111", "[card]", one},
		{"VisaCompact", "my card is 4111111111111111.", "my card is [card].", one},
		{"Mastercard", "5555 5555 5555 4444", "[card]", one},
		{"Mastercard2", "2223 0031 2200 3222", "[card]", one},
		{"Amex", "3782 822463 10005", "[card]", one},
		{"AmexCompact", "378282246310005", "[card]", one},
		{"Diners", "3056 930902 5904", "[card]", one},
		{"Discover", "6011 1111 1111 1117", "[card]", one},
		{"Visa13", "4222222222222", "[card]", one},
		{"Visa19", "4111 1111 1111 1111 003", "[card]", one},
		{"ThenExpiry", "4111 1111 1111 1111 12/27", "[card] 12/27", one},
		{"NotLuhn", "4111 1111 1111 1112", "4111 1111 1111 1112", nil},
		{"NotLuhnCompact", "4111111111111112", "4111111111111112", nil},
		{"NotCardGrouping", "411 1111 1111 11111", "411 1111 1111 11111", nil},
		{"NotMixedSeparators", "4111-1111 1111-1111", "4111-1111 1111-1111", nil},
		{"NotTooShort", "411111111111", "411111111111", nil},
		{"NotIssuerDigit", "8 000 000 000 006", "8 000 000 000 006", nil},
	})
}

func TestIBANs(t *testing.T) {
	one := map[Kind]int{IBAN: 1}
	runCases(t, []redactCase{
		{"GermanySpaced", "IBAN: DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX", "IBAN: [iban], BIC COBADEFFXXX", one},
		{"GermanyCompact", "DE89370400440532013000", "[iban]", one},
		{"Lowercase", "de89 3704 0044 0532 0130 00", "[iban]", one},
		{"UK", "pay to GB29 NWBK 6016 1331 9268 19 today", "pay to [iban] today", one},
		{"UKCompact", "GB29NWBK60161331926819", "[iban]", one},
		{"France", "FR14 2004 1010 0505 0001 3M02 606", "[iban]", one},
		{"Netherlands", "NL91ABNA0417164300.", "[iban].", one},
		{"Norway", "NO93 8601 1117 947 is mine", "[iban] is mine", one},
		{"Belgium", "BE68 5390 0754 7034 code", "[iban] code", one},
		{"Malta", "MT84 MALT 0110 0001 2345 MTLC AST0 01S", "[iban]", one},
		{"Spain", "ES91 2100 0418 4502 0005 1332", "[iban]", one},
		{"Switzerland", "CH93 0076 2011 6238 5295 7", "[iban]", one},
		{"NotCheckDigits", "DE88 3704 0044 0532 0130 00", "DE88 3704 0044 0532 0130 00", nil},
		{"NotLength", "DE89 3704 0044 0532 0130", "DE89 3704 0044 0532 0130", nil},
		{"NotCountry", "XX89 3704 0044 0532 0130 00", "XX89 3704 0044 0532 0130 00", nil},
		{"NotAProductCode", "the model AB12 CD34 EF56 GH78 is out", "the model AB12 CD34 EF56 GH78 is out", nil},
	})
}

func TestLeavesOtherNumbersAlone(t *testing.T) {
	var cases []redactCase
	for _, s := range []struct{ name, text string }{
		{"ISODate", "delivered on 2024-01-15"},
		{"EuropeanDate", "am 15.01.2024 geliefert"},
		{"USDate", "ordered 01/15/2024"},
		{"DateRange", "from 05.03.2024 to 07.03.2024"},
		{"DateRangeSlash", "05.03.24 / 07.03.24"},
		{"TwoDates", "01.02.2024 01.03.2024"},
		{"TwoShortDates", "01.02.24 01.03.24"},
		{"DateAndTime", "on 01.02.2024 10:30"},
		{"YearRange", "between 2019-2023"},
		{"Time", "at 14:30 or 09:00-17:00"},
		{"TimeWithSeconds", "logged at 10:00:00"},
		{"Price", "it costs $1,299.99 or 1.299,00 €"},
		{"PriceSpaces", "1 299 000 €"},
		{"PriceDecimal", "only 0.99"},
		{"Version", "upgrade to v2.14.0 from 1.2.3"},
		{"WindowsBuild", "Windows 10.0.19045.2364"},
		{"SemverZero", "release 0.12.1-beta"},
		{"VersionZeroLong", "version 0.10.20.3040"},
		{"LatitudeLike", "Lat 0.1234567"},
		{"DateRangeDashed", "10/03/2024-12/03/2024"},
		{"ReferenceDate", "Reference: 2024/01/15-001234"},
		{"RoomNumber", "the meeting is 2024-01-15 at 10:00 in room 4.12"},
		{"Thousands", "Total: 1.234.567,89 EUR"},
		{"Code", "Your code is 123456"},
		{"Serial", "serial 0301-2345-6789"},
		{"NotLuhnGroups", "1234 5678 9012 3456"},
		{"Years", "sum 2024 2025 2026 2027"},
		{"LocalNANPExchange", "555 123 4567"},
		{"IPAddress", "server 192.168.100.200 and 10.0.0.1"},
		{"OrderNumber", "Order #123456789 is late"},
		{"OrderNumberTrunkZero", "order 0123456789 is late"},
		{"OrderNumberHash", "#0301234567"},
		{"InvoiceNo", "invoice no. 0171234567"},
		{"TicketColon", "ticket: 0301234567"},
		{"ISBN", "ISBN 0-306-40615-2"},
		{"ISBN13", "978-3-16-148410-0"},
		{"OrderCode", "ORD-0301234567"},
		{"OrderDashes", "order 555-234-5678"},
		{"ZipCode", "10115 Berlin"},
		{"BigNumber", "1,000,000 users"},
		{"Timestamp", "created 1700000000"},
		{"TenDigitsOneRun", "2125550123"},
		{"LocalSevenDigits", "555-0123"},
		{"Percent", "+15.5%"},
		{"Arithmetic", "2+2 = 4"},
		{"Quantity", "+12 more"},
		{"Expiry", "12/27 and CVV 123"},
		{"Coordinates", "52.5200, 13.4050"},
		{"Tracking", "1Z999AA10123456784"},
		{"Placeholder", "[email] [phone] [card] [iban]"},
	} {
		cases = append(cases, redactCase{s.name, s.text, s.text, nil})
	}
	runCases(t, cases)
}

func TestMixed(t *testing.T) {
	runCases(t, []redactCase{
		{"All", "I'm jane@example.com, +44 20 7946 0958; card 4111 1111 1111 1111; IBAN GB29 NWBK 6016 1331 9268 19. Order 12345 from 2024-01-15.",
			"I'm [email], [phone]; card [card]; IBAN [iban]. Order 12345 from 2024-01-15.",
			map[Kind]int{Email: 1, Phone: 1, Card: 1, IBAN: 1}},
		{"EmailWithDigits", "call 4111111111111111@example.com", "call [email]", map[Kind]int{Email: 1}},
		{"Nothing", "How much is the Pro plan?", "How much is the Pro plan?", nil},
		{"Empty", "", "", nil},
	})
}

func TestCount(t *testing.T) {
	r := Text("a@b.com, c@d.org and 030 12345678")
	if r.Count() != 3 {
		t.Errorf("Count = %d, want 3", r.Count())
	}
	if got := Placeholders(r.Text); got != 3 {
		t.Errorf("Placeholders(%q) = %d, want 3", r.Text, got)
	}
	if got := Placeholders("no personal data here"); got != 0 {
		t.Errorf("Placeholders = %d, want 0", got)
	}
}

func TestLuhnAndIBANCheck(t *testing.T) {
	for _, c := range []struct {
		s    string
		want bool
	}{{"4111111111111111", true}, {"79927398713", true}, {"79927398710", false}, {"0", true}} {
		if got := luhn(c.s); got != c.want {
			t.Errorf("luhn(%s) = %v, want %v", c.s, got, c.want)
		}
	}
	for _, c := range []struct {
		s    string
		want bool
	}{{"GB82WEST12345698765432", true}, {"GB82WEST12345698765433", false}, {"GB82WEST1234569876543", false}, {"DE89370400440532013000", true}} {
		if got := validIBAN(c.s); got != c.want {
			t.Errorf("validIBAN(%s) = %v, want %v", c.s, got, c.want)
		}
	}
}
