//! config/argocd/health.lua, run as Argo CD runs it (Lua 5.1, the resource as the global
//! `obj`, a table with `status` and `message` returned) against the fixtures listed in
//! config/argocd/health_test.yaml; and the argocd-cm patch, which must embed the script as is.

use kube_posture::api::{GROUP, SecurityPolicy};
use mlua::Lua;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

const OPT_IN: &str = "local degradedWhenNonCompliant = false\n";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config/argocd")
}

fn read(name: &str) -> String {
    let p = dir().join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn yaml(name: &str) -> Value {
    kube_posture::yaml::from_str(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// JSON as Argo CD hands it to Lua: objects and arrays as tables, numbers as floats, null as nil.
fn to_lua(lua: &Lua, v: &Value) -> mlua::Result<mlua::Value> {
    Ok(match v {
        Value::Null => mlua::Value::Nil,
        Value::Bool(b) => mlua::Value::Boolean(*b),
        Value::Number(n) => mlua::Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => mlua::Value::String(lua.create_string(s)?),
        Value::Array(items) => {
            let t = lua.create_table()?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, to_lua(lua, item)?)?;
            }
            mlua::Value::Table(t)
        }
        Value::Object(fields) => {
            let t = lua.create_table()?;
            for (k, item) in fields {
                t.raw_set(k.as_str(), to_lua(lua, item)?)?;
            }
            mlua::Value::Table(t)
        }
    })
}

/// (status, message) of `script` on `obj`.
fn health(script: &str, obj: &Value) -> (String, String) {
    let lua = Lua::new();
    lua.globals()
        .set("obj", to_lua(&lua, obj).expect("obj converts"))
        .expect("set obj");
    let hs: mlua::Table = lua
        .load(script)
        .set_name("health.lua")
        .eval()
        .unwrap_or_else(|e| panic!("the script fails on {obj}: {e}"));
    (
        hs.get("status").expect("hs.status"),
        hs.get("message").expect("hs.message"),
    )
}

#[test]
fn runs_under_lua_5_1_like_argo_cd() {
    let lua = Lua::new();
    let version: String = lua.globals().get("_VERSION").unwrap();
    assert_eq!(version, "Lua 5.1");
}

#[test]
fn every_fixture_gets_its_expected_health() {
    let script = read("health.lua");
    let cases = yaml("health_test.yaml");
    let cases = cases["tests"].as_array().expect("tests");
    assert!(cases.len() >= 8, "{} cases", cases.len());
    let mut used = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for case in cases {
        let input = case["inputPath"].as_str().expect("inputPath");
        let obj = yaml(input);
        // The fixtures stay in the shape the operator writes.
        serde_json::from_value::<SecurityPolicy>(obj.clone())
            .unwrap_or_else(|e| panic!("{input} is not a SecurityPolicy: {e}"));
        let want = (
            case["healthStatus"]["status"].as_str().expect("status"),
            case["healthStatus"]["message"].as_str().expect("message"),
        );
        let got = health(&script, &obj);
        assert_eq!((got.0.as_str(), got.1.as_str()), want, "{input}");
        used.insert(input.to_string());
        seen.insert(want.0.to_string());
    }
    assert_eq!(
        seen,
        BTreeSet::from(["Degraded", "Healthy", "Progressing"].map(String::from))
    );
    let files: BTreeSet<String> = std::fs::read_dir(dir().join("testdata"))
        .expect("testdata")
        .map(|e| format!("testdata/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    assert_eq!(files, used, "every fixture has an expected result");
}

/// Non-compliance is Healthy unless the user flips the flag at the top of the script.
#[test]
fn non_compliance_is_degraded_only_when_opted_in() {
    let script = read("health.lua");
    assert_eq!(
        script.matches(OPT_IN).count(),
        1,
        "the flag, off by default"
    );
    let strict = script.replace(OPT_IN, "local degradedWhenNonCompliant = true\n");
    let non_compliant = yaml("testdata/non-compliant.yaml");
    assert_eq!(health(&script, &non_compliant).0, "Healthy");
    let (status, message) = health(&strict, &non_compliant);
    assert_eq!(status, "Degraded");
    assert!(
        message.starts_with("Not compliant: 4 unsuppressed"),
        "{message}"
    );
    assert_eq!(
        health(&strict, &yaml("testdata/compliant.yaml")).0,
        "Healthy"
    );
    assert_eq!(
        health(&strict, &yaml("testdata/spec-edit-not-audited.yaml")).0,
        "Progressing"
    );
}

/// The argocd-cm patch carries the script under the key Argo CD reads for our API group,
/// byte for byte.
#[test]
fn the_argocd_cm_patch_embeds_the_script() {
    let patch = yaml("argocd-cm-patch.yaml");
    let data = patch["data"].as_object().expect("data");
    let key = format!("resource.customizations.health.{GROUP}_SecurityPolicy");
    assert_eq!(
        data.keys().collect::<Vec<_>>(),
        [&key],
        "one key, for {GROUP}"
    );
    assert_eq!(
        data[&key].as_str().expect("a string"),
        read("health.lua"),
        "argocd-cm-patch.yaml drifted from health.lua"
    );
}
