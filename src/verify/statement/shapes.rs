//! The Go types cosign decodes a statement into, as data: JSON names, `omitempty` and the type
//! names Go prints in its errors. Read from in-toto-golang (`in_toto/attestations.go`,
//! `slsa_provenance/v0.2`, `slsa_provenance/common`, `Link` in `in_toto/model.go`) and cosign
//! (`pkg/cosign/attestation/attestation.go`).

/// What a Go field holds, as far as `encoding/json` is concerned.
pub enum Shape {
    String,
    Bool,
    /// `interface{}`: any JSON, numbers through float64.
    Any,
    /// `time.Time` (RFC 3339 in, RFC 3339 with nanoseconds out).
    Time,
    /// `*T`: nil (JSON null) when absent or null.
    Ptr(&'static Shape),
    /// `map[string]T`, with the Go type name.
    Map(&'static Shape, &'static str),
    /// `[]T`, with the Go type name.
    List(&'static Shape, &'static str),
    Struct(&'static GoStruct),
}

pub struct Field {
    pub json: &'static str,
    pub shape: Shape,
    pub omitempty: bool,
}

pub struct GoStruct {
    /// The bare type name (`reflect.Type.Name`), which Go's errors print before the field path.
    pub name: &'static str,
    /// The qualified type name (`reflect.Type.String`).
    pub go_type: &'static str,
    /// An embedded struct's Go field name and fields, which come first.
    pub embedded: Option<(&'static str, &'static [Field])>,
    pub fields: &'static [Field],
}

impl Shape {
    /// The type Go names in "cannot unmarshal X into ... of type T" (a pointer's element type:
    /// the decoder has allocated it by then).
    pub fn go_type(&self) -> &'static str {
        match self {
            Shape::String => "string",
            Shape::Bool => "bool",
            Shape::Any => "interface {}",
            Shape::Time => "time.Time",
            Shape::Ptr(inner) => inner.go_type(),
            Shape::Map(_, name) | Shape::List(_, name) => name,
            Shape::Struct(s) => s.go_type,
        }
    }
}

const fn field(json: &'static str, shape: Shape) -> Field {
    Field {
        json,
        shape,
        omitempty: false,
    }
}

const fn omitempty(json: &'static str, shape: Shape) -> Field {
    Field {
        json,
        shape,
        omitempty: true,
    }
}

const DIGEST_SET: Shape = Shape::Map(&Shape::String, "common.DigestSet");

static SUBJECT: GoStruct = GoStruct {
    name: "Subject",
    go_type: "in_toto.Subject",
    embedded: None,
    fields: &[field("name", Shape::String), field("digest", DIGEST_SET)],
};

/// in-toto-golang's `StatementHeader`, embedded in every statement type.
static HEADER: (&str, &[Field]) = (
    "StatementHeader",
    &[
        field("_type", Shape::String),
        field("predicateType", Shape::String),
        field(
            "subject",
            Shape::List(&Shape::Struct(&SUBJECT), "[]in_toto.Subject"),
        ),
    ],
);

pub static STATEMENT: GoStruct = GoStruct {
    name: "Statement",
    go_type: "in_toto.Statement",
    embedded: Some(HEADER),
    fields: &[field("predicate", Shape::Any)],
};

pub static SPDX_STATEMENT: GoStruct = GoStruct {
    name: "SPDXStatement",
    go_type: "in_toto.SPDXStatement",
    embedded: Some(HEADER),
    fields: &[field("predicate", Shape::Any)],
};

pub static CYCLONEDX_STATEMENT: GoStruct = GoStruct {
    name: "CycloneDXStatement",
    go_type: "in_toto.CycloneDXStatement",
    embedded: Some(HEADER),
    fields: &[field("predicate", Shape::Any)],
};

pub static PROVENANCE_STATEMENT_SLSA02: GoStruct = GoStruct {
    name: "ProvenanceStatementSLSA02",
    go_type: "in_toto.ProvenanceStatementSLSA02",
    embedded: Some(HEADER),
    fields: &[field("predicate", Shape::Struct(&PROVENANCE_PREDICATE))],
};

pub static LINK_STATEMENT: GoStruct = GoStruct {
    name: "LinkStatement",
    go_type: "in_toto.LinkStatement",
    embedded: Some(HEADER),
    fields: &[field("predicate", Shape::Struct(&LINK))],
};

pub static COSIGN_VULN_STATEMENT: GoStruct = GoStruct {
    name: "CosignVulnStatement",
    go_type: "attestation.CosignVulnStatement",
    embedded: Some(HEADER),
    fields: &[field("predicate", Shape::Struct(&VULN_PREDICATE))],
};

// SLSA provenance v0.2. `omitempty` never drops a struct value (Go only omits empty strings,
// false, nil and zero-length maps and slices), so `invocation` and `configSource` always appear.
static PROVENANCE_PREDICATE: GoStruct = GoStruct {
    name: "ProvenancePredicate",
    go_type: "v02.ProvenancePredicate",
    embedded: None,
    fields: &[
        field("builder", Shape::Struct(&PROVENANCE_BUILDER)),
        field("buildType", Shape::String),
        omitempty("invocation", Shape::Struct(&PROVENANCE_INVOCATION)),
        omitempty("buildConfig", Shape::Any),
        omitempty("metadata", Shape::Ptr(&Shape::Struct(&PROVENANCE_METADATA))),
        omitempty(
            "materials",
            Shape::List(
                &Shape::Struct(&PROVENANCE_MATERIAL),
                "[]common.ProvenanceMaterial",
            ),
        ),
    ],
};

static PROVENANCE_BUILDER: GoStruct = GoStruct {
    name: "ProvenanceBuilder",
    go_type: "common.ProvenanceBuilder",
    embedded: None,
    fields: &[field("id", Shape::String)],
};

static PROVENANCE_INVOCATION: GoStruct = GoStruct {
    name: "ProvenanceInvocation",
    go_type: "v02.ProvenanceInvocation",
    embedded: None,
    fields: &[
        omitempty("configSource", Shape::Struct(&CONFIG_SOURCE)),
        omitempty("parameters", Shape::Any),
        omitempty("environment", Shape::Any),
    ],
};

static CONFIG_SOURCE: GoStruct = GoStruct {
    name: "ConfigSource",
    go_type: "v02.ConfigSource",
    embedded: None,
    fields: &[
        omitempty("uri", Shape::String),
        omitempty("digest", DIGEST_SET),
        omitempty("entryPoint", Shape::String),
    ],
};

static PROVENANCE_METADATA: GoStruct = GoStruct {
    name: "ProvenanceMetadata",
    go_type: "v02.ProvenanceMetadata",
    embedded: None,
    fields: &[
        omitempty("buildInvocationID", Shape::String),
        omitempty("buildStartedOn", Shape::Ptr(&Shape::Time)),
        omitempty("buildFinishedOn", Shape::Ptr(&Shape::Time)),
        field("completeness", Shape::Struct(&PROVENANCE_COMPLETE)),
        field("reproducible", Shape::Bool),
    ],
};

static PROVENANCE_COMPLETE: GoStruct = GoStruct {
    name: "ProvenanceComplete",
    go_type: "v02.ProvenanceComplete",
    embedded: None,
    fields: &[
        field("parameters", Shape::Bool),
        field("environment", Shape::Bool),
        field("materials", Shape::Bool),
    ],
};

static PROVENANCE_MATERIAL: GoStruct = GoStruct {
    name: "ProvenanceMaterial",
    go_type: "common.ProvenanceMaterial",
    embedded: None,
    fields: &[
        omitempty("uri", Shape::String),
        omitempty("digest", DIGEST_SET),
    ],
};

// in-toto link (`in_toto.Link`); `HashObj` is `map[string]string`.
const HASH_OBJ: Shape = Shape::Map(&Shape::String, "in_toto.HashObj");

static LINK: GoStruct = GoStruct {
    name: "Link",
    go_type: "in_toto.Link",
    embedded: None,
    fields: &[
        field("_type", Shape::String),
        field("name", Shape::String),
        field(
            "materials",
            Shape::Map(&HASH_OBJ, "map[string]in_toto.HashObj"),
        ),
        field(
            "products",
            Shape::Map(&HASH_OBJ, "map[string]in_toto.HashObj"),
        ),
        field(
            "byproducts",
            Shape::Map(&Shape::Any, "map[string]interface {}"),
        ),
        field("command", Shape::List(&Shape::String, "[]string")),
        field(
            "environment",
            Shape::Map(&Shape::Any, "map[string]interface {}"),
        ),
    ],
};

// cosign's vulnerability scan predicate.
static VULN_PREDICATE: GoStruct = GoStruct {
    name: "CosignVulnPredicate",
    go_type: "attestation.CosignVulnPredicate",
    embedded: None,
    fields: &[
        field("invocation", Shape::Struct(&VULN_INVOCATION)),
        field("scanner", Shape::Struct(&VULN_SCANNER)),
        field("metadata", Shape::Struct(&VULN_METADATA)),
    ],
};

static VULN_INVOCATION: GoStruct = GoStruct {
    name: "Invocation",
    go_type: "attestation.Invocation",
    embedded: None,
    fields: &[
        field("parameters", Shape::Any),
        field("uri", Shape::String),
        field("event_id", Shape::String),
        field("builder.id", Shape::String),
    ],
};

static VULN_SCANNER: GoStruct = GoStruct {
    name: "Scanner",
    go_type: "attestation.Scanner",
    embedded: None,
    fields: &[
        field("uri", Shape::String),
        field("version", Shape::String),
        field("db", Shape::Struct(&VULN_DB)),
        field("result", Shape::Any),
    ],
};

static VULN_DB: GoStruct = GoStruct {
    name: "DB",
    go_type: "attestation.DB",
    embedded: None,
    fields: &[field("uri", Shape::String), field("version", Shape::String)],
};

static VULN_METADATA: GoStruct = GoStruct {
    name: "Metadata",
    go_type: "attestation.Metadata",
    embedded: None,
    fields: &[
        field("scanStartedOn", Shape::Time),
        field("scanFinishedOn", Shape::Time),
    ],
};
