"""A validator image on QEMU's mps2-an386 with its UART on a pseudo-terminal: a board on a serial
line, for the tests of `--target serial:DEVICE`."""
import re
import subprocess


def start_qemu_on_pty(image, machine="mps2-an386"):
    """Starts QEMU and returns it with the pseudo-terminal it reported."""
    qemu = subprocess.Popen(
        ["qemu-system-arm", "-M", machine, "-display", "none", "-monitor", "none", "-icount",
         "shift=0", "-semihosting-config", "enable=on,target=native", "-serial", "pty",
         "-kernel", str(image)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = qemu.stdout.readline()
    match = re.search(r"(/dev/pts/\d+)", line)
    assert match, f"QEMU did not report its pseudo-terminal: {line!r}"
    return qemu, match.group(1)
