package config

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// SchemaVersion is the version of the stored form. A newer firmware migrates
// older versions forward; an older firmware refuses a newer one.
const SchemaVersion = 1

// The stored form is a CBOR map {"schema": N, "configuration": TREE} where
// TREE mirrors the schema: containers are maps keyed by keyword, lists are
// arrays of maps (keys included), leaves are text, flags are true, and
// leaf-lists are arrays of text. Only the canonical (core deterministic)
// encoding is accepted, so anything that decodes re-encodes to the same bytes.

func encMode() (cbor.EncMode, error) {
	return cbor.CoreDetEncOptions().EncMode()
}

func decMode() (cbor.DecMode, error) {
	return cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   32,
		MaxArrayElements:  1 << 20,
		MaxMapPairs:       1 << 16,
		DefaultMapType:    reflect.TypeFor[map[string]any](),
		UTF8:              cbor.UTF8RejectInvalid,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
	}.DecMode()
}

// MarshalCBOR encodes the configuration in its stored form.
func (c *Config) MarshalCBOR() ([]byte, error) {
	em, err := encMode()
	if err != nil {
		return nil, fmt.Errorf("cbor encoder: %w", err)
	}
	doc := map[string]any{
		"schema":        SchemaVersion,
		"configuration": treeOf(Schema(), reflect.ValueOf(c).Elem()),
	}
	return em.Marshal(doc)
}

func treeOf(n *Node, v reflect.Value) map[string]any {
	m := map[string]any{}
	for _, c := range n.Children {
		f := v.Field(c.field)
		switch c.Kind {
		case Container:
			if !f.IsNil() {
				m[c.Name] = treeOf(c, f.Elem())
			}
		case Flag:
			if f.Bool() {
				m[c.Name] = true
			}
		case Leaf:
			if s := f.String(); s != "" {
				m[c.Name] = s
			}
		case LeafList:
			if f.Len() > 0 {
				vals := make([]any, f.Len())
				for i := range f.Len() {
					vals[i] = f.Index(i).String()
				}
				m[c.Name] = vals
			}
		case List:
			if f.Len() > 0 {
				entry := &Node{Children: append(append([]*Node{}, c.Keys...), c.Children...)}
				vals := make([]any, f.Len())
				for i := range f.Len() {
					vals[i] = treeOf(entry, f.Index(i))
				}
				m[c.Name] = vals
			}
		}
	}
	return m
}

// UnmarshalCBOR decodes the stored form strictly: an unknown statement, a
// wrong type, a bad value or a non-canonical encoding is an error naming the
// path where it was found.
func (c *Config) UnmarshalCBOR(data []byte) error {
	dm, err := decMode()
	if err != nil {
		return fmt.Errorf("cbor decoder: %w", err)
	}
	var raw any
	if err := dm.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("decoding configuration: %w", err)
	}
	doc, ok := raw.(map[string]any)
	if !ok {
		return errors.New("decoding configuration: not a map at the top level")
	}
	for k := range doc {
		if k != "schema" && k != "configuration" {
			return fmt.Errorf("decoding configuration: unknown field %q at the top level", k)
		}
	}
	ver, ok := doc["schema"].(uint64)
	if !ok {
		return errors.New("decoding configuration: missing or malformed schema version")
	}
	if ver > SchemaVersion {
		return fmt.Errorf("decoding configuration: schema version %d is newer than this firmware's %d; upgrade the firmware to read it", ver, SchemaVersion)
	}
	if ver < 1 {
		return fmt.Errorf("decoding configuration: unknown schema version %d", ver)
	}
	tree, ok := doc["configuration"].(map[string]any)
	if !ok {
		return errors.New("decoding configuration: missing configuration map")
	}
	var out Config
	if err := fromTree(Schema(), reflect.ValueOf(&out).Elem(), tree, ""); err != nil {
		return fmt.Errorf("decoding configuration: %w", err)
	}
	again, err := out.MarshalCBOR()
	if err != nil {
		return err
	}
	if !bytes.Equal(again, data) {
		return errors.New("decoding configuration: not in canonical form (a duplicate, an empty entry, or a non-deterministic encoding)")
	}
	*c = out
	return nil
}

func fromTree(n *Node, v reflect.Value, m map[string]any, path string) error {
	at := func(name string) string { return strings.TrimSpace(path + " " + name) }
	choices := map[string]string{}
	for k, raw := range m {
		c := n.Child(k)
		if c != nil && c.Choice != "" {
			if other, ok := choices[c.Choice]; ok {
				return fmt.Errorf("%s: %s and %s exclude each other", orTop(path), other, k)
			}
			choices[c.Choice] = k
		}
		if c == nil {
			return fmt.Errorf("%s: unknown statement %q", orTop(path), k)
		}
		f := v.Field(c.field)
		switch c.Kind {
		case Container:
			sub, ok := raw.(map[string]any)
			if !ok {
				return fmt.Errorf("%s: want a map, got %T", at(k), raw)
			}
			p := reflect.New(c.typ)
			if err := fromTree(c, p.Elem(), sub, at(k)); err != nil {
				return err
			}
			f.Set(p)
		case Flag:
			if b, ok := raw.(bool); !ok || !b {
				return fmt.Errorf("%s: want true, got %v", at(k), raw)
			}
			f.SetBool(true)
		case Leaf:
			s, ok := raw.(string)
			if !ok {
				return fmt.Errorf("%s: want text, got %T", at(k), raw)
			}
			val, err := canonValue(c, s)
			if err != nil {
				return fmt.Errorf("%s: %w", at(k), err)
			}
			f.SetString(val)
		case LeafList:
			arr, ok := raw.([]any)
			if !ok {
				return fmt.Errorf("%s: want an array, got %T", at(k), raw)
			}
			vals := make([]string, 0, len(arr))
			for i, e := range arr {
				s, ok := e.(string)
				if !ok {
					return fmt.Errorf("%s[%d]: want text, got %T", at(k), i, e)
				}
				val, err := canonValue(c, s)
				if err != nil {
					return fmt.Errorf("%s[%d]: %w", at(k), i, err)
				}
				if slices.Contains(vals, val) {
					return fmt.Errorf("%s[%d]: duplicate value %q", at(k), i, val)
				}
				vals = append(vals, val)
			}
			f.Set(reflect.ValueOf(vals))
		case List:
			arr, ok := raw.([]any)
			if !ok {
				return fmt.Errorf("%s: want an array, got %T", at(k), raw)
			}
			entry := &Node{Children: append(append([]*Node{}, c.Keys...), c.Children...)}
			s := reflect.MakeSlice(f.Type(), 0, len(arr))
			for i, e := range arr {
				em, ok := e.(map[string]any)
				if !ok {
					return fmt.Errorf("%s[%d]: want a map, got %T", at(k), i, e)
				}
				ev := reflect.New(c.typ).Elem()
				if err := fromTree(entry, ev, em, fmt.Sprintf("%s[%d]", at(k), i)); err != nil {
					return err
				}
				for _, key := range c.Keys {
					if ev.Field(key.field).String() == "" {
						return fmt.Errorf("%s[%d]: missing key %s", at(k), i, key.Name)
					}
				}
				keys := make([]string, len(c.Keys))
				for j, key := range c.Keys {
					keys[j] = ev.Field(key.field).String()
				}
				if findEntry(c, s, keys) >= 0 {
					return fmt.Errorf("%s[%d]: duplicate %s %s", at(k), i, c.Name, strings.Join(keys, " "))
				}
				s = reflect.Append(s, ev)
			}
			f.Set(s)
		}
	}
	return nil
}

func orTop(path string) string {
	if path == "" {
		return "top level"
	}
	return path
}

// DecodeCBOR is UnmarshalCBOR as a function.
func DecodeCBOR(data []byte) (*Config, error) {
	var c Config
	if err := c.UnmarshalCBOR(data); err != nil {
		return nil, err
	}
	return &c, nil
}

// IsCBOR reports whether data looks like the stored form (a CBOR map) rather
// than text.
func IsCBOR(data []byte) bool {
	return len(data) > 0 && data[0]>>5 == 5
}
