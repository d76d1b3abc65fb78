# ports.sh — loopback port helpers sourced by the service scripts (kafka.sh, mlflow.sh, airflow.sh)
# and tests/stack/run.sh.

# a port free on 127.0.0.1 now (the kernel's pick; the caller binds it soon after)
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# true when something accepts connections on 127.0.0.1:$1
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
