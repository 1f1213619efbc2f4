//! `rkube server`: data dir, certificates, datastore, and the API server.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use rkube_apiserver::auth::{
    AllowAll, AuthenticatorChain, ClientCertAuthenticator, TokenAuthenticator, User,
};
use rkube_apiserver::service_ips::ServiceNetwork;
use rkube_pki::{Ca, Subject};
use rkube_store::embedded::EmbeddedStore;

/// Flags of `rkube server` (k3s names, see DESIGN.md).
#[derive(Args, Debug)]
pub struct ServerArgs {
    /// Where all state lives.
    #[arg(long, default_value = "/var/lib/rkube")]
    data_dir: PathBuf,
    /// Address the API server listens on.
    #[arg(long, default_value = "0.0.0.0")]
    bind_address: IpAddr,
    /// HTTPS port of the API server.
    #[arg(long, default_value_t = 6443)]
    https_listen_port: u16,
    /// Also write the admin kubeconfig here (mode 0600).
    #[arg(long)]
    write_kubeconfig: Option<PathBuf>,
    /// Datastore endpoints (etcd); embedded when absent.
    #[arg(long, value_delimiter = ',')]
    datastore_endpoint: Vec<String>,
    /// Shared secret nodes join with; generated on first start when absent.
    #[arg(long, env = "RKUBE_TOKEN")]
    token: Option<String>,
    /// Name of this node.
    #[arg(long)]
    node_name: Option<String>,
    /// IP address of this node, advertised to clients.
    #[arg(long)]
    node_ip: Option<IpAddr>,
    /// Pod network.
    #[arg(long, default_value = "10.42.0.0/16")]
    cluster_cidr: String,
    /// Service network.
    #[arg(long, default_value = "10.43.0.0/16")]
    service_cidr: String,
    /// Cluster DNS service IP.
    #[arg(long, default_value = "10.43.0.10")]
    cluster_dns: IpAddr,
    /// Cluster DNS domain.
    #[arg(long, default_value = "cluster.local")]
    cluster_domain: String,
    /// Run only the control plane, no local node.
    #[arg(long)]
    disable_agent: bool,
    /// Do not run the scheduler.
    #[arg(long)]
    disable_scheduler: bool,
    /// Do not run the controller manager.
    #[arg(long)]
    disable_controller_manager: bool,
    /// Use this CRI endpoint instead of a managed containerd.
    #[arg(long)]
    container_runtime_endpoint: Option<String>,
}

/// The node's primary address: the first non-loopback IPv4 address, or loopback.
fn default_node_ip() -> IpAddr {
    if_addrs::get_if_addrs()
        .ok()
        .and_then(|addrs| {
            addrs
                .into_iter()
                .find(|a| !a.is_loopback() && a.ip().is_ipv4())
                .map(|a| a.ip())
        })
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_lowercase())
        .unwrap_or_else(|_| "rkube".into())
}

fn load_or_create_token(path: &Path, given: Option<&str>) -> anyhow::Result<String> {
    if let Some(t) = given {
        rkube_pki::write_private(path, t)?;
        return Ok(t.to_string());
    }
    if let Ok(existing) = std::fs::read_to_string(path) {
        return Ok(existing.trim().to_string());
    }
    use rand::Rng;
    let token: String = (0..32)
        .map(|_| format!("{:02x}", rand::rng().random::<u8>()))
        .collect();
    rkube_pki::write_private(path, &token)?;
    Ok(token)
}

fn prepare_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create data dir {}", dir.display()))?;
    std::fs::read_dir(dir).with_context(|| format!("cannot read data dir {}", dir.display()))?;
    let probe = dir.join(".rkube-write-test");
    std::fs::write(&probe, b"")
        .with_context(|| format!("cannot write to data dir {}", dir.display()))?;
    std::fs::remove_file(&probe)
        .with_context(|| format!("cannot write to data dir {}", dir.display()))?;
    Ok(())
}

/// Run the control plane until SIGINT/SIGTERM.
pub async fn run(args: ServerArgs) -> anyhow::Result<()> {
    if !args.datastore_endpoint.is_empty() {
        bail!(
            "--datastore-endpoint: the etcd backend is not available yet; omit the flag to use the embedded datastore"
        );
    }
    let server_dir = args.data_dir.join("server");
    prepare_dir(&server_dir)?;
    let tls_dir = server_dir.join("tls");
    let node_ip = args.node_ip.unwrap_or_else(default_node_ip);
    let node_name = args.node_name.clone().unwrap_or_else(hostname);
    let addr = SocketAddr::new(args.bind_address, args.https_listen_port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;

    let ca = Ca::load_or_create(&tls_dir, "rkube-server-ca").context("cluster CA")?;
    let service_ip = IpAddr::V4(
        ServiceNetwork::parse(&args.service_cidr)
            .with_context(|| {
                format!(
                    "--service-cidr {}: expected an IPv4 network such as 10.43.0.0/16",
                    args.service_cidr
                )
            })?
            .nth(1),
    );
    let mut ips = vec![
        node_ip,
        IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        service_ip,
    ];
    if !args.bind_address.is_unspecified() {
        ips.push(args.bind_address);
    }
    ips.dedup();
    let dns: Vec<String> = [
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "localhost",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        format!("kubernetes.default.svc.{}", args.cluster_domain),
        node_name.clone(),
    ])
    .collect();
    // The serving certificate is reissued each start so new node IPs are always covered.
    let serving = ca
        .issue_server("kube-apiserver", &dns, &ips)
        .context("serving certificate")?;
    let admin = rkube_pki::load_or_issue(&tls_dir, "client-admin", || {
        ca.issue_client(&Subject {
            common_name: "system:admin".into(),
            organizations: vec!["system:masters".into()],
        })
    })
    .context("admin certificate")?;
    let token = load_or_create_token(&server_dir.join("token"), args.token.as_deref())?;

    let store = EmbeddedStore::open(&server_dir.join("db"))
        .await
        .context("datastore")?;
    let store: Arc<dyn rkube_store::Store> = Arc::new(store);
    let node_user = User {
        name: "rkube:node-bootstrap".into(),
        groups: vec!["system:bootstrappers".into()],
    };
    let authn = AuthenticatorChain(vec![
        Box::new(ClientCertAuthenticator),
        Box::new(TokenAuthenticator::new(HashMap::from([(token, node_user)]))),
    ]);
    let service_network = ServiceNetwork::parse(&args.service_cidr).with_context(|| {
        format!(
            "--service-cidr {}: expected an IPv4 network such as 10.43.0.0/16",
            args.service_cidr
        )
    })?;
    let config = rkube_apiserver::Config {
        advertise_ip: node_ip,
        port: args.https_listen_port,
        service_network,
    };
    let app = rkube_apiserver::build(store, Box::new(authn), Box::new(AllowAll), config)
        .await
        .map_err(|e| anyhow::anyhow!("API server: {e}"))?;
    let tls =
        rkube_apiserver::tls::server_config(&serving.cert_pem, &serving.key_pem, ca.cert_pem())?;

    let url_host = if args.bind_address.is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        args.bind_address.to_string()
    };
    let url = format!("https://{url_host}:{}", args.https_listen_port);
    let kubeconfig =
        crate::kubeconfig::with_client_cert(&url, ca.cert_pem(), &admin.cert_pem, &admin.key_pem)?;
    let admin_path = server_dir.join("admin.kubeconfig");
    rkube_pki::write_private(&admin_path, &kubeconfig)?;
    if let Some(extra) = &args.write_kubeconfig {
        if let Some(parent) = extra.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("--write-kubeconfig {}", extra.display()))?;
        }
        rkube_pki::write_private(extra, &kubeconfig)
            .with_context(|| format!("--write-kubeconfig {}", extra.display()))?;
    }
    let shown = args.write_kubeconfig.as_deref().unwrap_or(&admin_path);
    println!(
        "rkube server ready: API at {url}, kubeconfig at {}",
        shown.display()
    );
    tracing::info!(
        %url,
        node = %node_name,
        cluster_cidr = %args.cluster_cidr,
        service_cidr = %args.service_cidr,
        cluster_dns = %args.cluster_dns,
        cluster_domain = %args.cluster_domain,
        agent = !args.disable_agent,
        scheduler = !args.disable_scheduler,
        controller_manager = !args.disable_controller_manager,
        runtime_endpoint = args.container_runtime_endpoint.as_deref().unwrap_or("managed containerd"),
        "API server serving (the agent is not part of this build yet)"
    );

    let stop = tokio_util::sync::CancellationToken::new();
    if !args.disable_controller_manager {
        let client = crate::loopback::client(app.clone(), "system:kube-controller-manager", &[]);
        tokio::spawn(rkube_controllers::run(client, stop.clone()));
    }
    if !args.disable_scheduler {
        let client = crate::loopback::client(app.clone(), "system:kube-scheduler", &[]);
        tokio::spawn(rkube_scheduler::run(client, stop.clone()));
    }
    rkube_apiserver::tls::serve(
        listener,
        tls,
        rkube_apiserver::router(app),
        shutdown_signal(),
    )
    .await;
    stop.cancel();
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    tracing::info!("shutting down");
}
