use super::{policy_document, MAX_DEPTH};
use rstest::rstest;
use serde_json::{json, Value};

const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn statement(predicate_type: &str, predicate: Value) -> Value {
    json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": predicate_type,
        "subject": [{"name": "img", "digest": {"sha256": "ab"}}],
        "predicate": predicate,
        "unknownTopLevel": "dropped",
    })
}

fn with_predicate(document: &Value, predicate: Value) -> Value {
    let mut expected = document.clone();
    expected["predicate"] = predicate;
    if let Some(o) = expected.as_object_mut() {
        o.remove("unknownTopLevel");
    }
    expected
}

#[rstest]
#[case::custom("custom")]
#[case::uri("https://example.com/predicate")]
#[case::not_special_cased("slsaprovenance02")]
#[case::spdx("spdx")]
#[case::spdxjson("spdxjson")]
#[case::cyclonedx("cyclonedx")]
fn free_form_predicates_keep_their_keys_and_go_through_float64(#[case] predicate_type: &str) {
    let input = statement(
        "https://x",
        json!({"b": 1.0, "a": [2.5, {"c": 1e21, "d": null}], "Data": "x"}),
    );
    let document = policy_document(&input, predicate_type).unwrap();
    assert_eq!(
        document,
        with_predicate(
            &input,
            json!({"b": 1, "a": [2.5, {"c": 1e21, "d": null}], "Data": "x"})
        )
    );
    assert_eq!(
        document["predicate"]["b"].as_i64(),
        Some(1),
        "1.0 is written back as 1"
    );
    assert!(document["predicate"]["a"][1]["c"].is_f64());
}

#[test]
fn the_generic_statement_has_null_for_an_absent_subject_and_predicate() {
    let input = json!({"_type": "t", "predicateType": "p", "other": 1});
    let expected = json!({"_type": "t", "predicateType": "p", "subject": null, "predicate": null});
    assert_eq!(policy_document(&input, "custom").unwrap(), expected);
    assert_eq!(policy_document(&input, "spdx").unwrap(), expected);
    let empty = json!({});
    assert_eq!(
        policy_document(&empty, "https://p").unwrap(),
        json!({"_type": "", "predicateType": "", "subject": null, "predicate": null})
    );
}

#[test]
fn slsaprovenance_fills_go_zero_values_and_drops_unknown_fields() {
    let input = statement(
        "https://slsa.dev/provenance/v0.2",
        json!({
            "builder": {"id": "https://builder", "extra": 1},
            "buildConfig": {"steps": 2.0},
            "metadata": {"buildStartedOn": "2024-01-02T03:04:05.500Z"},
            "materials": [{"uri": "git+https://repo", "digest": {}}],
            "unknown": true,
        }),
    );
    let document = policy_document(&input, "slsaprovenance").unwrap();
    assert_eq!(
        document,
        with_predicate(
            &input,
            json!({
                "builder": {"id": "https://builder"},
                "buildType": "",
                "invocation": {"configSource": {}},
                "buildConfig": {"steps": 2},
                "metadata": {
                    "buildStartedOn": "2024-01-02T03:04:05.5Z",
                    "completeness": {"parameters": false, "environment": false, "materials": false},
                    "reproducible": false,
                },
                "materials": [{"uri": "git+https://repo"}],
            })
        )
    );
    // The generic spelling of the same URI sees the statement as signed.
    assert_eq!(
        policy_document(&input, "slsaprovenance02").unwrap()["predicate"]["unknown"],
        json!(true)
    );
}

#[test]
fn slsaprovenance_omits_empty_optional_fields() {
    let input = statement(
        "https://slsa.dev/provenance/v0.2",
        json!({"buildConfig": null, "metadata": null, "materials": [], "invocation": {"parameters": {}}}),
    );
    assert_eq!(
        policy_document(&input, "slsaprovenance").unwrap()["predicate"],
        json!({
            "builder": {"id": ""},
            "buildType": "",
            "invocation": {"configSource": {}, "parameters": {}},
        })
    );
}

#[test]
fn link_fills_go_zero_values_and_drops_unknown_fields() {
    let input = statement(
        "https://in-toto.io/Link/v1",
        json!({"name": "build", "materials": {"src": {"sha256": "aa"}}, "command": [], "extra": 1}),
    );
    assert_eq!(
        policy_document(&input, "link").unwrap(),
        with_predicate(
            &input,
            json!({
                "_type": "",
                "name": "build",
                "materials": {"src": {"sha256": "aa"}},
                "products": null,
                "byproducts": null,
                "command": [],
                "environment": null,
            })
        )
    );
}

#[test]
fn vuln_fills_go_zero_values_and_zero_times() {
    let input = statement(
        "https://cosign.sigstore.dev/attestation/vuln/v1",
        json!({"scanner": {"uri": "trivy", "result": {"count": 3.0}}, "extra": 1}),
    );
    assert_eq!(
        policy_document(&input, "vuln").unwrap(),
        with_predicate(
            &input,
            json!({
                "invocation": {"parameters": null, "uri": "", "event_id": "", "builder.id": ""},
                "scanner": {"uri": "trivy", "version": "", "db": {"uri": "", "version": ""}, "result": {"count": 3}},
                "metadata": {"scanStartedOn": ZERO_TIME, "scanFinishedOn": ZERO_TIME},
            })
        )
    );
}

/// A CUE policy sees the zero value: a scanner URI the statement lacks conflicts under `vuln`
/// (cosign's policy sees `""`) but not under the vuln URI, where the field stays absent.
#[test]
fn a_cue_policy_sees_the_zero_value_of_an_absent_field() {
    let input = statement(
        "https://cosign.sigstore.dev/attestation/vuln/v1",
        json!({"scanner": {"version": "1"}}),
    );
    let program = crate::cue::compile(r#"predicate: scanner: uri: "https://scanner""#).unwrap();
    let typed = policy_document(&input, "vuln").unwrap();
    let error = program.evaluate(&typed).unwrap_err();
    assert!(
        error.contains("predicate.scanner.uri: conflicting values"),
        "{error}"
    );
    let generic =
        policy_document(&input, "https://cosign.sigstore.dev/attestation/vuln/v1").unwrap();
    assert_eq!(program.evaluate(&generic), Ok(()));

    let zero = crate::cue::compile(r#"predicate: metadata: scanStartedOn: "0001-01-01T00:00:00Z""#)
        .unwrap();
    assert_eq!(zero.evaluate(&typed), Ok(()));
}

#[rstest]
#[case::slsa_predicate_kind(
    "slsaprovenance",
    json!("a string"),
    "unmarshaling ProvenanceStatementSLSA02): json: cannot unmarshal string into Go struct field ProvenanceStatementSLSA02.predicate of type v02.ProvenancePredicate"
)]
#[case::slsa_nested(
    "slsaprovenance",
    json!({"materials": [{"digest": {"sha256": 5}}]}),
    "unmarshaling ProvenanceStatementSLSA02): json: cannot unmarshal number into Go struct field ProvenanceMaterial.predicate.materials.digest of type string"
)]
#[case::slsa_pointer(
    "slsaprovenance",
    json!({"metadata": [1]}),
    "unmarshaling ProvenanceStatementSLSA02): json: cannot unmarshal array into Go struct field ProvenancePredicate.predicate.metadata of type v02.ProvenanceMetadata"
)]
#[case::link(
    "link",
    json!({"command": "make"}),
    "unmarshaling LinkStatement: json: cannot unmarshal string into Go struct field Link.predicate.command of type []string"
)]
#[case::link_hash_obj(
    "link",
    json!({"products": {"out": "aa"}}),
    "unmarshaling LinkStatement: json: cannot unmarshal string into Go struct field Link.predicate.products of type in_toto.HashObj"
)]
#[case::vuln(
    "vuln",
    json!({"scanner": {"db": true}}),
    "unmarshaling CosignVulnStatement: json: cannot unmarshal bool into Go struct field Scanner.predicate.scanner.db of type attestation.DB"
)]
#[case::vuln_time_kind(
    "vuln",
    json!({"metadata": {"scanStartedOn": 5}}),
    "unmarshaling CosignVulnStatement: Time.UnmarshalJSON: input is not a JSON string"
)]
#[case::vuln_time_text(
    "vuln",
    json!({"metadata": {"scanFinishedOn": "2024-02-30T00:00:00Z"}}),
    "unmarshaling CosignVulnStatement: parsing time \"2024-02-30T00:00:00Z\": day out of range"
)]
#[case::time_error_stops_at_once(
    "vuln",
    json!({"invocation": {"uri": 1}, "metadata": {"scanStartedOn": "yesterday"}}),
    "unmarshaling CosignVulnStatement: parsing time \"yesterday\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"yesterday\" as RFC 3339"
)]
#[case::time_offset_unencodable(
    "slsaprovenance",
    json!({"metadata": {"buildFinishedOn": "2024-01-01T00:00:00+24:00"}}),
    "marshaling ProvenanceStatementSLSA02: json: error calling MarshalJSON for type *time.Time: Time.MarshalJSON: timezone hour outside of range [0,23]"
)]
fn a_statement_that_does_not_fit_gets_cosigns_error(
    #[case] predicate_type: &str,
    #[case] predicate: Value,
    #[case] message: &str,
) {
    let input = statement("https://p", predicate);
    assert_eq!(
        policy_document(&input, predicate_type),
        Err(message.to_string())
    );
}

#[rstest]
#[case::spdx("spdx")]
#[case::cyclonedx("cyclonedx")]
#[case::custom("custom")]
#[case::uri("https://p")]
fn free_form_predicates_accept_any_kind(#[case] predicate_type: &str) {
    let input = statement("https://p", json!("a string"));
    assert_eq!(
        policy_document(&input, predicate_type).unwrap()["predicate"],
        json!("a string")
    );
}

#[rstest]
#[case::custom("custom")]
#[case::link("link")]
#[case::spdx("spdx")]
fn the_header_is_decoded_first(#[case] predicate_type: &str) {
    let mut input = statement("https://p", json!({"command": 1}));
    input["subject"] = json!([{"name": 7, "digest": {"sha256": "ab"}}]);
    assert_eq!(
        policy_document(&input, predicate_type),
        Err("unmarshal in-toto statement: json: cannot unmarshal number into Go struct field Subject.StatementHeader.subject.name of type string".to_string())
    );
    assert_eq!(
        policy_document(&json!([]), predicate_type),
        Err("unmarshal in-toto statement: json: cannot unmarshal array into Go value of type in_toto.Statement".to_string())
    );
}

#[rstest]
#[case::fraction_trimmed("2024-01-02T03:04:05.120000000Z", "2024-01-02T03:04:05.12Z")]
#[case::fraction_truncated("2024-01-02T03:04:05.1234567891Z", "2024-01-02T03:04:05.123456789Z")]
#[case::zero_fraction("2024-01-02T03:04:05.000Z", "2024-01-02T03:04:05Z")]
#[case::zero_offset("2024-01-02T03:04:05+00:00", "2024-01-02T03:04:05Z")]
#[case::negative_zero_offset("2024-01-02T03:04:05-00:00", "2024-01-02T03:04:05Z")]
#[case::offset_kept("2024-01-02T03:04:05-07:30", "2024-01-02T03:04:05-07:30")]
#[case::sixty_minutes("2024-01-02T03:04:05+05:60", "2024-01-02T03:04:05+06:00")]
#[case::leap_day("2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z")]
fn times_are_written_back_as_go_does(#[case] written: &str, #[case] seen: &str) {
    let input = statement("https://p", json!({"metadata": {"scanStartedOn": written}}));
    assert_eq!(
        policy_document(&input, "vuln").unwrap()["predicate"]["metadata"]["scanStartedOn"],
        json!(seen)
    );
}

#[rstest]
#[case::lowercase_t("2024-01-02t03:04:05Z")]
#[case::lowercase_z("2024-01-02T03:04:05z")]
#[case::no_zone("2024-01-02T03:04:05")]
#[case::comma_fraction("2024-01-02T03:04:05,5Z")]
#[case::empty_fraction("2024-01-02T03:04:05.Z")]
#[case::one_digit_hour("2024-01-02T3:04:05Z")]
#[case::zone_hour("2024-01-02T03:04:05+25:00")]
#[case::not_leap("2023-02-29T00:00:00Z")]
#[case::month("2023-13-01T00:00:00Z")]
#[case::second("2023-01-01T00:00:60Z")]
#[case::non_ascii("2023-01-01T00:00:00Zé")]
fn times_go_refuses_are_refused(#[case] written: &str) {
    let input = statement("https://p", json!({"metadata": {"scanStartedOn": written}}));
    let error = policy_document(&input, "vuln").unwrap_err();
    assert!(
        error.starts_with(&format!(
            "unmarshaling CosignVulnStatement: parsing time {written:?}"
        )),
        "{error}"
    );
}

#[test]
fn big_integers_are_written_back_as_go_writes_a_float64() {
    let input = statement(
        "https://p",
        json!({"big": 12345678901234567891u64, "neg": -9007199254740993i64, "exact": 9007199254740993i64, "tiny": 1e-7}),
    );
    let predicate = &policy_document(&input, "custom").unwrap()["predicate"];
    assert_eq!(predicate["big"].as_u64(), Some(12345678901234567000));
    assert_eq!(predicate["neg"].as_i64(), Some(-9007199254740992));
    assert_eq!(predicate["exact"].as_i64(), Some(9007199254740992));
    assert_eq!(predicate["tiny"].as_f64(), Some(1e-7));
}

#[test]
fn struct_fields_match_keys_case_insensitively_as_go_does() {
    let input = json!({
        "_TYPE": "t",
        "PredicateType": "p",
        "\u{017F}ubject": [{"NAME": "img", "Digest": {"SHA256": "ab"}}],
        "predicate": {"Builder": {"ID": "b"}, "BuildType": "x", "buildtype": "y"},
        "Predicate": {"builder": {"id": "ignored"}},
    });
    let document = policy_document(&input, "slsaprovenance").unwrap();
    assert_eq!(document["_type"], json!("t"));
    assert_eq!(document["predicateType"], json!("p"));
    assert_eq!(
        document["subject"],
        json!([{"name": "img", "digest": {"SHA256": "ab"}}])
    );
    assert_eq!(
        document["predicate"]["builder"],
        json!({"id": "b"}),
        "the exact key wins"
    );
}

#[test]
fn nesting_beyond_the_budget_is_refused_without_recursing_further() {
    let mut deep = json!(1);
    for _ in 0..MAX_DEPTH + 10 {
        deep = json!([deep]);
    }
    let input = statement("https://p", deep);
    for predicate_type in ["custom", "spdx", "slsaprovenance", "vuln"] {
        assert_eq!(
            policy_document(&input, predicate_type),
            Err(format!(
                "unmarshal in-toto statement: exceeded max depth ({MAX_DEPTH} levels)"
            ))
        );
    }
    let mut shallow = json!(1);
    for _ in 0..MAX_DEPTH - 5 {
        shallow = json!([shallow]);
    }
    assert!(policy_document(&statement("https://p", shallow), "custom").is_ok());
}
