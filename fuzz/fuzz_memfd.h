/*
 * fuzz_memfd: a fuzz input put in an anonymous file and rewound, for the
 * readers that take a descriptor, as a blob's bytes reach them. Shared by
 * fuzz_layer_entries and fuzz_layer_digests.
 */
#ifndef TEMPER_FUZZ_MEMFD_H
#define TEMPER_FUZZ_MEMFD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/* The descriptor (the caller closes it); `fail` is called, and must not return, on an error. */
static inline int
fuzz_memfd(const uint8_t *data, size_t size, void (*fail)(const char *what))
{
    int fd = memfd_create("layer", MFD_CLOEXEC);

    if (fd < 0)
        fail("cannot make a memfd");
    if (size > 0 && write(fd, data, size) != (ssize_t)size)
        fail("cannot write the input");
    if (lseek(fd, 0, SEEK_SET) != 0)
        fail("cannot rewind");
    return fd;
}

#endif
