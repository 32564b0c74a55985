//! The fault injector: a seeded TCP proxy on `127.0.0.1:0` between the harness and a server,
//! misbehaving the way a slow, lossy link behind a load balancer does (the Toxiproxy toxics
//! `latency`, `slicer` and `reset_peer`): every chunk delayed by 0 to `max_latency`, every chunk
//! cut into fragments, a share of the connections reset after a few kilobytes in either
//! direction, and some connections cut while the client waits on an answer (a long poll held by
//! the server). It can also make the server "restart" as clients see it: [`Injector::switch_upstream`]
//! points it at another server and resets every open connection.
//!
//! It knows TCP only, not HTTP or Bayeux, so every fault lands wherever the bytes happen to be.
//! Its decisions come from one seed (connection `n` draws from the seed and `n`), so a seed
//! names a fault pattern; which request rides which connection is still up to the client. It
//! judges nothing; the tests in `tests/faults.rs` do. Its only timers are the latency it
//! injects and the idle time after which it cuts a held answer.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// How the link misbehaves.
#[derive(Debug, Clone, Copy)]
pub struct FaultPlan {
    pub seed: u64,
    /// Each chunk waits a uniformly drawn 0 ..= this before it is forwarded.
    pub max_latency: Duration,
    /// One connection in this many is reset (RST) once it has carried a few kilobytes; 0: none.
    pub reset_one_in: u64,
    /// The reset comes after this many bytes (both directions together), drawn uniformly.
    pub reset_after: (usize, usize),
    /// One connection in this many is cut when the server has been silent this long after a
    /// request (a held long poll); 0: none.
    pub cut_held_one_in: u64,
    pub cut_held_after: Duration,
}

impl FaultPlan {
    /// The acceptance plan of #26: up to 200 ms per chunk, fragmented, a quarter of the
    /// connections reset after 2 to 8 KiB, one connection in eight cut while an answer is held.
    pub fn hostile_link(seed: u64) -> FaultPlan {
        FaultPlan {
            seed,
            max_latency: Duration::from_millis(200),
            reset_one_in: 4,
            reset_after: (2048, 8192),
            cut_held_one_in: 8,
            cut_held_after: Duration::from_millis(700),
        }
    }
}

impl FaultPlan {
    /// A faithful link (no latency, no fragmentation, no resets): only a restart
    /// ([`Injector::switch_upstream`]) misbehaves.
    pub fn clean(seed: u64) -> FaultPlan {
        FaultPlan {
            seed,
            max_latency: Duration::ZERO,
            reset_one_in: 0,
            reset_after: (1, 1),
            cut_held_one_in: 0,
            cut_held_after: Duration::from_secs(1),
        }
    }
}

/// What the injector did, for tests to prove the faults really happened.
#[derive(Debug, Clone, Copy, Default)]
pub struct FaultCounts {
    pub connections: usize,
    /// Connections reset after their byte budget.
    pub resets: usize,
    /// Connections cut while the server held an answer.
    pub cut_held: usize,
    /// Connections refused or reset because the upstream was unreachable or switched.
    pub upstream_lost: usize,
    pub fragments: usize,
}

#[derive(Default)]
struct Counters {
    connections: AtomicUsize,
    resets: AtomicUsize,
    cut_held: AtomicUsize,
    upstream_lost: AtomicUsize,
    fragments: AtomicUsize,
}

/// splitmix64: small, seedable, good enough to spread faults.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo ..= hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    fn one_in(&mut self, n: u64) -> bool {
        n > 0 && self.next().is_multiple_of(n)
    }
}

struct Shared {
    plan: FaultPlan,
    upstream: Mutex<SocketAddr>,
    /// Cancelled when the upstream is switched: every connection of the old one is reset.
    generation: Mutex<CancellationToken>,
    accepted: AtomicU64,
    counts: Counters,
}

/// The injector and the runtime it runs on (its own, so it keeps forwarding while a test waits
/// for a child process).
pub struct Injector {
    runtime: Option<tokio::runtime::Runtime>,
    shared: Arc<Shared>,
    base_url: String,
}

impl Drop for Injector {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

fn socket_of(base_url: &str) -> SocketAddr {
    base_url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|e| panic!("{base_url} is not http://IP:PORT: {e}"))
}

impl Injector {
    /// Starts forwarding to the server at `upstream` (`http://127.0.0.1:PORT`) through `plan`.
    pub fn start(upstream: &str, plan: FaultPlan) -> Injector {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let shared = Arc::new(Shared {
            plan,
            upstream: Mutex::new(socket_of(upstream)),
            generation: Mutex::new(CancellationToken::new()),
            accepted: AtomicU64::new(0),
            counts: Counters::default(),
        });
        let listener = runtime
            .block_on(TcpListener::bind(("127.0.0.1", 0)))
            .expect("the injector binds loopback");
        let base_url = format!("http://{}", listener.local_addr().expect("an address"));
        let accepting = Arc::clone(&shared);
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let shared = Arc::clone(&accepting);
                tokio::spawn(async move { shared.carry(client).await });
            }
        });
        Injector {
            runtime: Some(runtime),
            shared,
            base_url,
        }
    }

    /// The injector's address, `http://127.0.0.1:PORT`: the target's `base_url`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn counts(&self) -> FaultCounts {
        let c = &self.shared.counts;
        FaultCounts {
            connections: c.connections.load(Ordering::Relaxed),
            resets: c.resets.load(Ordering::Relaxed),
            cut_held: c.cut_held.load(Ordering::Relaxed),
            upstream_lost: c.upstream_lost.load(Ordering::Relaxed),
            fragments: c.fragments.load(Ordering::Relaxed),
        }
    }

    /// Forwards new connections to `upstream` from now on and resets every open one: to the
    /// client, the server restarted (or failed over) and forgot everything.
    pub fn switch_upstream(&self, upstream: &str) {
        *self.shared.upstream.lock().unwrap() = socket_of(upstream);
        let old = std::mem::replace(
            &mut *self.shared.generation.lock().unwrap(),
            CancellationToken::new(),
        );
        old.cancel();
    }
}

/// What one connection will suffer, drawn when it is accepted.
struct Fate {
    draw: Draw,
    reset_after: Option<usize>,
    cut_held: bool,
}

impl Shared {
    async fn carry(self: Arc<Self>, client: TcpStream) {
        let n = self.accepted.fetch_add(1, Ordering::Relaxed);
        self.counts.connections.fetch_add(1, Ordering::Relaxed);
        let mut draw = Draw(self.plan.seed ^ n.wrapping_mul(0xA24B_AED4_963E_E407));
        let (lo, hi) = self.plan.reset_after;
        let reset_after = draw
            .one_in(self.plan.reset_one_in)
            .then(|| draw.between(lo as u64, hi as u64) as usize);
        let cut_held = draw.one_in(self.plan.cut_held_one_in);
        let fate = Fate {
            draw,
            reset_after,
            cut_held,
        };
        let generation = self.generation.lock().unwrap().clone();
        let upstream = *self.upstream.lock().unwrap();
        let server = match TcpStream::connect(upstream).await {
            Ok(s) => s,
            Err(_) => {
                self.counts.upstream_lost.fetch_add(1, Ordering::Relaxed);
                reset(client);
                return;
            }
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        match self.pump_both(client, server, fate, &generation).await {
            End::Closed => {}
            End::Reset => {
                self.counts.resets.fetch_add(1, Ordering::Relaxed);
            }
            End::CutHeld => {
                self.counts.cut_held.fetch_add(1, Ordering::Relaxed);
            }
            End::Switched => {
                self.counts.upstream_lost.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Forwards both ways until either side closes or a fault ends the connection. Both
    /// sockets linger 0, so a connection dropped on a fault is reset (RST), as by a reset peer.
    async fn pump_both(
        &self,
        client: TcpStream,
        server: TcpStream,
        fate: Fate,
        generation: &CancellationToken,
    ) -> End {
        for s in [&client, &server] {
            #[allow(deprecated)]
            let _ = s.set_linger(Some(Duration::ZERO));
        }
        let (client_read, client_write) = client.into_split();
        let (server_read, server_write) = server.into_split();
        let budget = Arc::new(AtomicUsize::new(fate.reset_after.unwrap_or(usize::MAX)));
        // When the client last sent with no answer since: a held answer, to cut.
        let waiting = Arc::new(Mutex::new(None::<tokio::time::Instant>));
        let seed = fate.draw.0;
        let up = self.pump(
            client_read,
            server_write,
            Draw(seed ^ 1),
            Arc::clone(&budget),
            Arc::clone(&waiting),
            false,
        );
        let down = self.pump(
            server_read,
            client_write,
            Draw(seed ^ 2),
            Arc::clone(&budget),
            Arc::clone(&waiting),
            true,
        );
        let held = async {
            if !fate.cut_held {
                return std::future::pending().await;
            }
            loop {
                let since = *waiting.lock().unwrap();
                match since {
                    Some(at) if at.elapsed() >= self.plan.cut_held_after => return,
                    Some(at) => tokio::time::sleep_until(at + self.plan.cut_held_after).await,
                    // Nothing held: look again after one idle period.
                    None => tokio::time::sleep(self.plan.cut_held_after).await,
                }
            }
        };
        // Whatever ends first ends the connection; the other direction is dropped with it.
        tokio::select! {
            end = up => end,
            end = down => end,
            _ = held => End::CutHeld,
            _ = generation.cancelled() => End::Switched,
        }
    }

    /// Copies `from` to `to` in delayed fragments until `from` closes (FIN forwarded) or the
    /// connection's byte budget runs out (the bytes up to it forwarded).
    async fn pump(
        &self,
        mut from: OwnedReadHalf,
        mut to: OwnedWriteHalf,
        mut draw: Draw,
        budget: Arc<AtomicUsize>,
        waiting: Arc<Mutex<Option<tokio::time::Instant>>>,
        downstream: bool,
    ) -> End {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => {
                    let _ = to.shutdown().await;
                    return End::Closed;
                }
                Ok(n) => n,
            };
            *waiting.lock().unwrap() = (!downstream).then(tokio::time::Instant::now);
            let max = self.plan.max_latency.as_millis() as u64;
            if max > 0 {
                tokio::time::sleep(Duration::from_millis(draw.between(0, max))).await;
            }
            let mut chunk = &buf[..n];
            let left = budget.load(Ordering::Relaxed);
            let cut = chunk.len() >= left;
            if cut {
                chunk = &chunk[..left];
            }
            let spent = chunk.len();
            let _ = budget.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some(b.saturating_sub(spent))
            });
            while !chunk.is_empty() {
                let size = draw.between(1, chunk.len() as u64) as usize;
                self.counts.fragments.fetch_add(1, Ordering::Relaxed);
                if to.write_all(&chunk[..size]).await.is_err() {
                    return End::Closed;
                }
                chunk = &chunk[size..];
            }
            if cut {
                return End::Reset;
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Closed,
    Reset,
    CutHeld,
    Switched,
}

/// Closes `stream` with an RST instead of a FIN.
fn reset(stream: TcpStream) {
    #[allow(deprecated)]
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}
