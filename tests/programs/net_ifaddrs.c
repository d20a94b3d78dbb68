/* Interfaces as a program sees them: getifaddrs (netlink), if_nameindex, SIOCGIF* ioctls,
 * and whether it may change them (SIOCSIFFLAGS). */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
    struct ifaddrs *ifa;
    if (getifaddrs(&ifa) != 0) {
        printf("getifaddrs: %s\n", strerror(errno));
        return 1;
    }
    for (struct ifaddrs *p = ifa; p; p = p->ifa_next) {
        char addr[64] = "-";
        int fam = p->ifa_addr ? p->ifa_addr->sa_family : -1;
        if (fam == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)p->ifa_addr)->sin_addr, addr, sizeof addr);
        else if (fam == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)p->ifa_addr)->sin6_addr, addr, sizeof addr);
        printf("ifaddr %s family %s addr %s up %d\n", p->ifa_name,
               fam == AF_INET ? "inet" : fam == AF_INET6 ? "inet6" : fam == AF_PACKET ? "packet" : "other", addr,
               !!(p->ifa_flags & IFF_UP));
    }
    freeifaddrs(ifa);
    struct if_nameindex *ni = if_nameindex();
    for (struct if_nameindex *p = ni; p && p->if_index; p++)
        printf("index %u %s\n", p->if_index, p->if_name);
    if_freenameindex(ni);
    printf("if_nametoindex(lo) %u\n", if_nametoindex("lo"));
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    int r = ioctl(s, SIOCGIFFLAGS, &ifr);
    printf("SIOCGIFFLAGS %d up %d loopback %d\n", r, !!(ifr.ifr_flags & IFF_UP), !!(ifr.ifr_flags & IFF_LOOPBACK));
    r = ioctl(s, SIOCGIFMTU, &ifr);
    printf("SIOCGIFMTU %d mtu %d\n", r, ifr.ifr_mtu);
    /* Setting the flags it already has: harmless natively (even as root), EPERM in a sandbox. */
    strcpy(ifr.ifr_name, "lo");
    ioctl(s, SIOCGIFFLAGS, &ifr);
    r = ioctl(s, SIOCSIFFLAGS, &ifr);
    printf("SIOCSIFFLAGS %d %s\n", r, r ? strerror(errno) : "");
    strcpy(ifr.ifr_name, "nosuch0");
    r = ioctl(s, SIOCGIFFLAGS, &ifr);
    printf("SIOCGIFFLAGS nosuch0 %d %s\n", r, r ? strerror(errno) : "");
    return 0;
}
