#!/usr/bin/python3
"""Idle keep-alive connection cost, for bench/run.sh.

Opens COUNT connections to 127.0.0.1:PORT, sends one GET on each and reads
the answer (so every connection is an established keep-alive connection that
has served a request), then holds them idle. Prints the server's VmRSS
(sum over PIDS, in KiB) before and after as one line:
    opened=<n> failed=<n> rss_before_kb=<n> rss_after_kb=<n>

usage: idle_conns.py PORT COUNT PID[,PID...]
"""
import asyncio
import resource
import sys


def rss_kb(pids):
    total = 0
    for pid in pids:
        with open("/proc/%s/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


async def one(port, held, sem):
    async with sem:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /idle HTTP/1.1\r\nHost: bench\r\n\r\n")
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await asyncio.wait_for(reader.readexactly(length), 30)
            if not head.startswith(b"HTTP/1.1 200"):
                writer.close()
                return False
            held.append(writer)
            return True
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            return False


async def main():
    port, count = int(sys.argv[1]), int(sys.argv[2])
    pids = sys.argv[3].split(",")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, count + 1024)), hard))
    await asyncio.sleep(0.5)
    before = rss_kb(pids)
    held = []
    sem = asyncio.Semaphore(256)
    results = await asyncio.gather(*(one(port, held, sem) for _ in range(count)))
    await asyncio.sleep(2.0)  # let the server settle
    after = rss_kb(pids)
    print("opened=%d failed=%d rss_before_kb=%d rss_after_kb=%d"
          % (len(held), results.count(False), before, after))
    for w in held:
        w.close()


if __name__ == "__main__":
    asyncio.run(main())
