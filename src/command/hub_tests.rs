//! Unit tests of `vmbuild hub`: the request, the remote command, masking.
use super::*;
use crate::remote::ExecOutput;
use crate::remote::fake::FakeTransport;

fn set(key: &str, value: &str) -> HubCommand {
    HubCommand::Set {
        key: key.into(),
        value: value.into(),
    }
}

fn request(action: &HubCommand, stdin: &str) -> Result<Request, Error> {
    Request::from_action(action, &mut stdin.as_bytes())
}

#[test]
fn values_go_on_stdin_never_in_argv() {
    let r = request(&set("admin_users", "alice,bob; rm -rf /"), "").unwrap();
    let c = command(&r);
    assert_eq!(
        c.to_shell(),
        "/usr/local/sbin/tljh-config set admin_users -"
    );
    assert_eq!(c.get_stdin(), Some(&b"alice,bob; rm -rf /"[..]));
    let c = command(&request(&set("authenticator_settings.client_secret", "cs-123"), "").unwrap())
        .sudo();
    assert_eq!(
        c.to_shell(),
        "sudo -n -H -- /usr/local/sbin/tljh-config set authenticator_settings.client_secret -"
    );
    assert_eq!(c.get_stdin(), Some(&b"cs-123"[..]));
    assert_eq!(
        command(&Request::Show).to_shell(),
        "/usr/local/sbin/tljh-config show"
    );
}

#[test]
fn a_dash_reads_the_value_from_our_stdin() {
    let a = set("authenticator_settings.client_secret", "-");
    assert_eq!(
        request(&a, "from-stdin\n").unwrap(),
        Request::Set {
            key: "authenticator_settings.client_secret".into(),
            value: "from-stdin".into()
        }
    );
    // only one line end goes; inner newlines stay
    let Request::Set { value, .. } = request(&a, "two\nlines\r\n").unwrap() else {
        panic!()
    };
    assert_eq!(value, "two\nlines");
    let e = request(&a, "\n").unwrap_err();
    assert_eq!(e.exit_code(), crate::error::ExitCode::Usage);
    assert_eq!(
        e.to_string(),
        "`hub set authenticator_settings.client_secret -`: standard input was empty; expected the value"
    );
}

#[test]
fn secret_keys_are_recognised() {
    for k in [
        "authenticator_settings.client_secret",
        "authenticator_settings.lookup_dn_search_password",
        "authenticator_settings.bind_password",
        "authenticator_settings.api_token",
        "authenticator_settings.Client_Secret",
    ] {
        assert!(is_secret_key(k), "{k}");
    }
    for k in [
        "mem_limit",
        "admin_users",
        "authenticator_settings.client_id",
    ] {
        assert!(!is_secret_key(k), "{k}");
    }
    let r = request(
        &set("authenticator_settings.client_secret", "s3cret-xyz"),
        "",
    )
    .unwrap();
    assert_eq!(r.secret(), Some("s3cret-xyz"));
    assert!(!format!("{r:?}").contains("s3cret"), "{r:?}");
    assert_eq!(request(&set("mem_limit", "2G"), "").unwrap().secret(), None);
}

fn answering(status: u32, stdout: &str, stderr: &str) -> FakeTransport {
    let (stdout, stderr) = (stdout.to_owned(), stderr.to_owned());
    FakeTransport::new(move |_| ExecOutput {
        status,
        stdout: stdout.clone().into_bytes(),
        stderr: stderr.clone().into_bytes(),
    })
}

fn run_apply(t: &FakeTransport, r: &Request, ui: &Ui) -> Result<String, Error> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(apply(t, r, true, ui))
}

#[test]
fn a_secret_value_is_masked_in_errors_and_output() {
    let r = request(
        &set("authenticator_settings.client_secret", "s3cret-xyz"),
        "",
    )
    .unwrap();
    // whatever the VM says back, the value does not come through
    for (status, code) in [
        (2, crate::error::ExitCode::Usage),
        (1, crate::error::ExitCode::Failed),
    ] {
        let ui = Ui::silent();
        let t = answering(
            status,
            "",
            "tljh-config: `client_secret` = `s3cret-xyz`: bad\n",
        );
        let e = run_apply(&t, &r, &ui).unwrap_err();
        assert_eq!(e.exit_code(), code);
        let text = e.to_string();
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("`client_secret` = `********`"), "{text}");
        assert_eq!(
            t.commands.lock().unwrap().as_slice(),
            [
                "sudo -n -H -- /usr/local/sbin/tljh-config set authenticator_settings.client_secret -"
            ]
        );
    }
    let ui = Ui::silent();
    let t = answering(0, "{\"client_secret\": \"s3cret-xyz\"}\n", "");
    assert_eq!(
        run_apply(&t, &r, &ui).unwrap(),
        "{\"client_secret\": \"********\"}\n"
    );
    // a missing tljh-config is explained
    let e = run_apply(&answering(127, "", "not found"), &Request::Show, &ui).unwrap_err();
    assert!(e.to_string().contains("is it a vmbuild appliance"), "{e}");
}
