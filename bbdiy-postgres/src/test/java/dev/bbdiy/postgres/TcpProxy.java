package dev.bbdiy.postgres;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A TCP proxy in front of a server that can make the server disappear: every connection reset, no new ones. */
final class TcpProxy implements AutoCloseable {
  private final ServerSocket listener;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private volatile boolean gone;

  TcpProxy(String host, int port) throws IOException {
    listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(() -> {
      while (!gone) {
        try {
          Socket client = listener.accept();
          Socket server = new Socket(host, port);
          sockets.add(client);
          sockets.add(server);
          pump(client, server);
          pump(server, client);
        } catch (IOException e) {
          return;
        }
      }
    }, "tcp-proxy");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  int port() {
    return listener.getLocalPort();
  }

  /** Returns how many connections went through so far. */
  int connections() {
    return sockets.size() / 2;
  }

  /** The server vanishes: open connections are reset, new ones refused. */
  void disappear() {
    gone = true;
    try {
      listener.close();
    } catch (IOException ignored) {
      // closed anyway
    }
    for (Socket s : sockets) {
      try {
        s.setSoLinger(true, 0); // RST, as a crashed host's kernel would answer
        s.close();
      } catch (IOException ignored) {
        // already closed
      }
    }
  }

  private void pump(Socket from, Socket to) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[65536];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        int n;
        while ((n = in.read(buf)) >= 0) {
          out.write(buf, 0, n);
        }
      } catch (IOException ignored) {
        // one side went away
      } finally {
        try {
          to.shutdownOutput();
        } catch (IOException ignored) {
          // already closed
        }
      }
    }, "tcp-proxy-pump");
    t.setDaemon(true);
    t.start();
  }

  @Override
  public void close() {
    disappear();
  }
}
