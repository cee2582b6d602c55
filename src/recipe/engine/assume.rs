//! Facts as they will be once an install has run: how the members of a
//! merged transaction are re-checked when it runs, so each one's reason
//! says what it adds (not "create venv" when an earlier member creates it).
use crate::recipe::facts::{FactOutput, FactQuery, Facts};
use crate::recipe::resource::Action;
use crate::recipe::resources::apt_packages::split_pin;
use crate::recipe::resources::pip_packages::requirement;

/// The version recorded for a package installed without a pin.
const PENDING: &str = "(this transaction)";

/// Change `facts` as if `actions` had succeeded (installs only; other
/// actions never join a transaction).
pub(super) fn assume(facts: &mut Facts, actions: &[Action]) {
    for a in actions {
        match a {
            Action::AptInstall {
                packages, update, ..
            } => {
                let mut out = facts
                    .raw(&FactQuery::Dpkg)
                    .map(|o| o.stdout.clone())
                    .unwrap_or_default();
                for p in packages {
                    let (name, pin) = split_pin(p);
                    out.push_str(&format!("{name}\tii \t{}\n", pin.unwrap_or(PENDING)));
                }
                set(facts, FactQuery::Dpkg, out);
                if *update {
                    // "now" and lists fetched just now
                    set(facts, FactQuery::AptLists, "0\n0\n".into());
                }
            }
            Action::PipInstall { venv, packages, .. } => {
                let q = FactQuery::Pip(venv.clone());
                let mut out = match facts.raw(&q) {
                    Ok(o) if o.stdout.starts_with("venv") => o.stdout.clone(),
                    _ => "venv\n".to_owned(),
                };
                for r in packages {
                    let (name, pin) = requirement(r);
                    // dist-info names escape `-` as `_`; the version must not hold `-`
                    let version = pin.unwrap_or_else(|| PENDING.replace('-', "_"));
                    out.push_str(&format!(
                        "{}-{}.dist-info\n",
                        name.replace('-', "_"),
                        version.replace('-', "_")
                    ));
                }
                set(facts, q, out);
            }
            _ => {}
        }
    }
}

fn set(facts: &mut Facts, q: FactQuery, stdout: String) {
    facts.insert(
        q,
        FactOutput {
            stdout,
            stderr: String::new(),
            rc: 0,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installs_show_up_in_the_facts() {
        let mut f = Facts::default();
        set(&mut f, FactQuery::Dpkg, "base\tii \t1\n".into());
        set(&mut f, FactQuery::AptLists, "1000\n".into());
        set(&mut f, FactQuery::Pip("/v".into()), "absent\n".into());
        assume(
            &mut f,
            &[
                Action::AptInstall {
                    packages: vec!["tree".into(), "jq=1.6-2".into()],
                    update: true,
                    recommends: false,
                },
                Action::PipInstall {
                    venv: "/v".into(),
                    python: "python3".into(),
                    packages: vec!["six==1.16.0".into(), "Jupyter_Hub".into()],
                },
            ],
        );
        let dpkg = f.dpkg().unwrap();
        assert_eq!(dpkg["jq"], "1.6-2");
        assert_eq!(dpkg["tree"], PENDING);
        assert_eq!(f.apt_lists_age().unwrap(), Some(0));
        let pip = f.pip("/v").unwrap().expect("the venv exists now");
        assert_eq!(pip["six"], "1.16.0");
        assert!(pip.contains_key("jupyter-hub"), "{pip:?}");
    }
}
