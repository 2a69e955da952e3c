# Stand-in for the official HAProxy image: Debian's haproxy, configuration in
# /usr/local/etc/haproxy/haproxy.cfg as in the official image, run in the
# foreground (master-worker) as the haproxy user.
ARG BASE
FROM ${BASE}
RUN apt-get update && apt-get install -y --no-install-recommends haproxy \
 && rm -rf /var/lib/apt/lists/* && mkdir -p /usr/local/etc/haproxy
USER haproxy
STOPSIGNAL SIGUSR1
CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
