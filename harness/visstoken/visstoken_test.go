package visstoken

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/icoc-dev/icoc/simulator/viss"
	"github.com/icoc-dev/icoc/spec/viss"
)

func TestFlowAndRefusals(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	s, err := Start(secret, viss.PurposesJSON())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := vissspec.MustLoad(vissspec.V3, vissspec.DefaultOptions())
	ctx := context.Background()
	tok, err := s.AccessToken(ctx, d, "JT1TESTVH00000001", "Independent+OEM+Cloud", "odometer")
	if err != nil {
		t.Fatal(err)
	}
	c := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(tok, c, func(*jwt.Token) (any, error) { return secret, nil }, jwt.WithValidMethods([]string{"HS256"})); err != nil {
		t.Fatal(err)
	}
	if c["scp"] != "odometer" || c["vin"] != "JT1TESTVH00000001" || c["aud"] != "covesa.global/VISSv3" || c["jti"] == "" {
		t.Errorf("claims %v", c)
	}
	if _, err := s.AccessToken(ctx, d, "", "Passenger+OEM+Cloud", "odometer"); err == nil {
		t.Error("a context the purpose does not allow got a token")
	}
	if _, err := s.AccessToken(ctx, d, "", "Independent+OEM+Cloud", "no-such-purpose"); err == nil {
		t.Error("a purpose not on the list got a token")
	}
	old, _ := Mint(Claims{Scope: "odometer", Expires: time.Now().Add(-time.Hour)}, secret)
	if _, err := jwt.Parse(old, func(*jwt.Token) (any, error) { return secret, nil }); err == nil {
		t.Error("an expired token verifies")
	}
}
