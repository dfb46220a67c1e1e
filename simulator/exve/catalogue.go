package exve

import (
	"fmt"
	"slices"
	"strings"
)

// Catalogue is what an offering party declares about its web services: the
// resources, their URI paths, use-case names, versions and fields, the
// methods each supports, the scope that grants it, and which data items
// come from which bench-DBC signal. The reference offering party serves
// DefaultCatalogue; a DUT profile carries a real offering party's in the
// same shape (YAML or JSON), and the suite judges the wire against it.
type Catalogue struct {
	// Resources are the resources and web services, one entry per path.
	Resources []Resource `yaml:"resources" json:"resources"`
	// PluralExceptions are resource names that are plural nouns though
	// they do not end in "s" (register I-200).
	PluralExceptions []string `yaml:"plural_exceptions" json:"plural_exceptions,omitempty"`
}

// Resource kinds.
const (
	// KindEntity is a list of entities: {b}/vehicles.
	KindEntity = "entity"
	// KindSubEntity is a list of entities of an entity: {b}/vehicles/{vehicleId}/ecus.
	KindSubEntity = "subentity"
	// KindData is a vehicle's time series: {b}/vehicles/{vehicleId}/odometers.
	KindData = "data"
	// KindAsync is a resource read from the vehicle by the asynchronous
	// pattern of 4.12: {b}/vehicles/{vehicleId}/dtcReadouts.
	KindAsync = "async"
	// KindWebService is a web service that includes other resources (4.7).
	KindWebService = "webservice"
	// KindAnonymized is a resource without entity IDs (REQ_04_02_21).
	KindAnonymized = "anonymized"
)

// Resource is one resource or web service of a Catalogue.
type Resource struct {
	// Name is the resource name: the last path element and the name of
	// resource discovery ("odometers").
	Name string `yaml:"name" json:"name"`
	// UseCase is the use-case resource name of the exve-resourceversion
	// parameter ("odometer" in odometer.v1.1).
	UseCase string `yaml:"usecase" json:"usecase"`
	// Path is the URI path below the base URI, {vehicleId} standing for a
	// vehicle ID ("/vehicles/{vehicleId}/odometers").
	Path string `yaml:"path" json:"path"`
	// Kind is one of the Kind constants.
	Kind string `yaml:"kind" json:"kind"`
	// Methods are the HTTP methods the resource supports (REQ_04_02_09).
	Methods []string `yaml:"methods" json:"methods"`
	// Scope is the OAuth scope that grants the resource; "" for a web
	// service, which is granted through the resources it includes.
	Scope string `yaml:"scope" json:"scope,omitempty"`
	// Versions lists the versions, oldest first; the last is the latest.
	Versions []Version `yaml:"versions" json:"versions"`
	// Items is the body key of the list of items ("odometers").
	Items string `yaml:"items" json:"items"`
	// Wildcard says {b}/vehicles/*/{name} is served (REQ_04_02_19).
	Wildcard bool `yaml:"wildcard" json:"wildcard,omitempty"`
	// Subscription is the push resource of this resource
	// ("odometerSubscriptions"), "" when it has none.
	Subscription string `yaml:"subscription" json:"subscription,omitempty"`
	// Includes names the resources a web service includes (4.7).
	Includes []string `yaml:"includes" json:"includes,omitempty"`
	// Signals maps a data item to the bench-DBC signal it carries,
	// "Message.Signal" (the CAN-to-ExVe oracle).
	Signals map[string]string `yaml:"signals" json:"signals,omitempty"`
	// ResourceID is the resource's resourceId in the container API (Annex
	// A); "" when the offering party has no container API.
	ResourceID string `yaml:"resource_id" json:"resource_id,omitempty"`
}

// Version is one version of a resource and the data items of its items.
type Version struct {
	// Version is "v{major}.{minor}".
	Version string `yaml:"version" json:"version"`
	// Fields are the keys an item of this version has.
	Fields []string `yaml:"fields" json:"fields"`
}

// Latest returns the resource's latest version.
func (r Resource) Latest() Version { return r.Versions[len(r.Versions)-1] }

// VersionValue returns the exve-resourceversion value of version v:
// "odometer.v1.1".
func (r Resource) VersionValue(v string) string { return r.UseCase + "." + v }

// PerVehicle reports whether the resource's path has a vehicle ID.
func (r Resource) PerVehicle() bool { return strings.Contains(r.Path, "{vehicleId}") }

// Supports reports whether the resource declares method m.
func (r Resource) Supports(m string) bool { return slices.Contains(r.Methods, m) }

// ByPath returns the resource with path p.
func (c Catalogue) ByPath(p string) (Resource, bool) {
	for _, r := range c.Resources {
		if r.Path == p {
			return r, true
		}
	}
	return Resource{}, false
}

// ByName returns the per-vehicle resource named n (or, failing that, any
// resource named n).
func (c Catalogue) ByName(n string) (Resource, bool) {
	var other *Resource
	for i, r := range c.Resources {
		if r.Name == n {
			if r.PerVehicle() {
				return r, true
			}
			if other == nil {
				other = &c.Resources[i]
			}
		}
	}
	if other != nil {
		return *other, true
	}
	return Resource{}, false
}

// OfKind returns the resources of kind k, in catalogue order.
func (c Catalogue) OfKind(k string) []Resource {
	var out []Resource
	for _, r := range c.Resources {
		if r.Kind == k {
			out = append(out, r)
		}
	}
	return out
}

// Validate checks the catalogue's shape; the error names the resource and
// the field.
func (c Catalogue) Validate() error {
	var errs []string
	seen := map[string]bool{}
	for i, r := range c.Resources {
		at := fmt.Sprintf("resources[%d] (%s)", i, r.Path)
		switch {
		case r.Name == "" || r.Path == "" || r.UseCase == "":
			errs = append(errs, at+": name, path and usecase are required")
		case !strings.HasPrefix(r.Path, "/"):
			errs = append(errs, at+": path must start with /")
		case !strings.HasSuffix(r.Path, "/"+r.Name):
			errs = append(errs, at+": path must end with the name")
		}
		if seen[r.Path] {
			errs = append(errs, at+": path declared twice")
		}
		seen[r.Path] = true
		if !slices.Contains([]string{KindEntity, KindSubEntity, KindData, KindAsync, KindWebService, KindAnonymized}, r.Kind) {
			errs = append(errs, fmt.Sprintf("%s: kind %q", at, r.Kind))
		}
		if len(r.Versions) == 0 {
			errs = append(errs, at+": no version")
		}
		for _, v := range r.Versions {
			if !versionRe.MatchString(v.Version) {
				errs = append(errs, fmt.Sprintf("%s: version %q is not v{major}.{minor}", at, v.Version))
			}
		}
		if len(r.Methods) == 0 {
			errs = append(errs, at+": no method")
		}
		if r.Kind == KindWebService && len(r.Includes) == 0 {
			errs = append(errs, at+": a web service includes resources")
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("catalogue: %s", strings.Join(errs, "; "))
	}
	return nil
}

// DefaultCatalogue is the reference offering party's catalogue: the bench
// DBC's signals as resources of the vehicles that uploaded them.
func DefaultCatalogue() Catalogue {
	c := defaultCatalogue()
	for i := range c.Resources {
		c.Resources[i].ResourceID = ResourceID(c.Resources[i])
	}
	return c
}

func defaultCatalogue() Catalogue {
	get := []string{"GET"}
	return Catalogue{
		PluralExceptions: nil,
		Resources: []Resource{
			{Name: "vehicles", UseCase: "vehicle", Path: "/vehicles", Kind: KindEntity, Methods: get, Scope: "exve:vehicles", Items: "vehicles",
				Versions: []Version{{Version: "v1.0", Fields: []string{"id", "vin", "firstSeen", "lastSeen"}}}},
			{Name: "odometers", UseCase: "odometer", Path: "/vehicles/{vehicleId}/odometers", Kind: KindData, Methods: get, Scope: "exve:odometers", Items: "odometers",
				Wildcard: true, Subscription: "odometerSubscriptions",
				Versions: []Version{
					{Version: "v1.0", Fields: []string{"timestamp", "value", "unit"}},
					{Version: "v1.1", Fields: []string{"timestamp", "value", "unit", "tripMeter"}},
				},
				Signals: map[string]string{"value": "Odometer.Odometer", "tripMeter": "Odometer.TripMeter"}},
			{Name: "vehicleSpeeds", UseCase: "vehicleSpeed", Path: "/vehicles/{vehicleId}/vehicleSpeeds", Kind: KindData, Methods: get, Scope: "exve:vehicleSpeeds", Items: "vehicleSpeeds",
				Wildcard: true, Subscription: "vehicleSpeedSubscriptions",
				Versions: []Version{{Version: "v1.0", Fields: []string{"timestamp", "speed", "unit", "wheelSpeedFrontLeft", "wheelSpeedFrontRight"}}},
				Signals:  map[string]string{"speed": "VehicleSpeed.VehicleSpeed", "wheelSpeedFrontLeft": "VehicleSpeed.WheelSpeedFL", "wheelSpeedFrontRight": "VehicleSpeed.WheelSpeedFR"}},
			{Name: "engineReadings", UseCase: "engineReading", Path: "/vehicles/{vehicleId}/engineReadings", Kind: KindData, Methods: get, Scope: "exve:engineReadings", Items: "engineReadings",
				Subscription: "engineReadingSubscriptions",
				Versions:     []Version{{Version: "v1.0", Fields: []string{"timestamp", "engineSpeed", "coolantTemperature", "fuelLevel", "batteryVoltage"}}},
				Signals: map[string]string{"engineSpeed": "EngineData.EngineSpeed", "coolantTemperature": "EngineData.CoolantTemp",
					"fuelLevel": "EngineData.FuelLevel", "batteryVoltage": "EngineData.BatteryVoltage"}},
			{Name: "ecus", UseCase: "ecu", Path: "/vehicles/{vehicleId}/ecus", Kind: KindSubEntity, Methods: get, Scope: "exve:ecus", Items: "ecus",
				Versions: []Version{{Version: "v1.0", Fields: []string{"id", "name", "messages", "lastSeen"}}}},
			{Name: "dtcReadouts", UseCase: "dtcReadout", Path: "/vehicles/{vehicleId}/dtcReadouts", Kind: KindAsync, Methods: []string{"POST"}, Scope: "exve:dtcReadouts", Items: "dtcs",
				Versions: []Version{{Version: "v1.0", Fields: []string{"dtcId", "status", "timestamp"}}}},
			{Name: "vehicleStatuses", UseCase: "vehicleStatus", Path: "/vehicles/{vehicleId}/vehicleStatuses", Kind: KindWebService, Methods: get, Items: "vehicleStatus",
				Includes: []string{"odometers", "vehicleSpeeds"},
				Versions: []Version{{Version: "v1.0", Fields: []string{"vehicleId", "odometer", "vehicleSpeed"}}}},
			{Name: "vehicleSpeeds", UseCase: "vehicleSpeed", Path: "/vehicles/vehicleSpeeds", Kind: KindAnonymized, Methods: get, Scope: "exve:vehicleSpeeds", Items: "vehicleSpeeds",
				Versions: []Version{{Version: "v1.0", Fields: []string{"timestamp", "speed", "unit"}}}},
		},
	}
}
