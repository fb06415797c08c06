// Package config is the configuration of one box: its model, its three
// written forms, and the checks a configuration passes before anything
// applies it.
//
// It owns:
//   - the model (model.go): Go types whose `junos` tags give each statement's
//     keyword and kind. The schema (Schema) is read from those tags, so the
//     set parser, the brace renderer, the CBOR codec and the CLI's completion
//     walk one tree and cannot disagree about a statement;
//   - the codecs: the Junos set form (Parse, Set, Delete, Insert, SetText),
//     the brace form of `show configuration` (Parse, Text) and the canonical
//     CBOR the store keeps on disk (MarshalCBOR, DecodeCBOR), each reading
//     back what it writes;
//   - validation (Validate): references, uniqueness and the combinations the
//     schema cannot express, as Problems that name the statement in set form;
//   - the defaults of unset attributes and the proposal sets, written down in
//     defaults.go and nowhere else;
//   - name resolution for the compilers (NewIndex, Index.Policies) and the
//     difference between two configurations (Compare), as `show | compare`.
//
// It must import nothing of Palisade's. Everything else (the store, the
// commit pipeline, policy/, vpn/, the CLI, the host tools) imports it, so
// any import of ours here is a cycle waiting to happen, and a host tool that
// only checks a configuration would pull in kernel code. What a
// configuration means for the kernel belongs in the packages that compile
// from it, not here.
package config
